"""Atomic file output and checked JSON input.

Results are written to a temporary file in the target folder and renamed into place, so an
interrupted or failing command never leaves a half-written output file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from saswot.errors import CorruptDataError, DataNotFoundError, OutputError
from saswot.utils.paths import cache_root


def _json_default(obj: Any) -> Any:
    """Serialise numpy / torch scalars and paths."""
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def _sanitize(obj: Any) -> Any:
    """Replace non-finite floats by strings ('nan', 'inf', '-inf') so the JSON is standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    return obj


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path: Path | None = None
    try:  # the temporary file is made inside the try: an interrupt right after it still removes it
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        tmp_path = Path(tmp)
        os.close(fd)
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give normal file permissions
        os.replace(tmp_path, target)
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> Path:
    """Atomically write ``obj`` as JSON (non-finite floats become strings).

    Raises:
        OutputError: the file cannot be written; the content was kept in a fallback file that the
            message names (see :func:`write_text`).
    """
    return write_text(path, json.dumps(_sanitize(obj), indent=indent, default=_json_default) + "\n")


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write a text file.

    When the write fails (folder removed, disk full, permissions changed while a long command
    ran), the text is written to a fallback file under ``<cache root>/unsaved/`` instead, so a
    finished result is never lost, and :class:`OutputError` names both paths.
    """
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    except OSError as exc:
        fallback = _save_fallback(Path(path), text)
        where = f"it was saved to '{fallback}'" if fallback else "no fallback file could be written either"
        raise OutputError(f"could not write '{path}' ({exc.strerror or exc}); {where}") from None
    return Path(path)


def _save_fallback(path: Path, text: str) -> Path | None:
    """Write ``text`` to a fresh file in the cache root's ``unsaved/`` (else the temp folder)."""

    for folder in (cache_root() / "unsaved", Path(tempfile.gettempdir()) / "saswot-unsaved"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"{time.strftime('%Y%m%d-%H%M%S')}-", suffix=f"-{path.name}", dir=folder)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            return Path(name)
        except OSError:
            continue
    return None


def check_writable(path: str | os.PathLike[str], option: str = "output", directory: bool = False) -> Path:
    """Check, before any work, that ``path`` can be written (created folders included).

    A probe file is created and removed in the folder that will hold ``path`` (``path`` itself when
    ``directory``); the folders on the way are created as the write would create them.

    Raises:
        OutputError: the path cannot be written; the message names the option and the reason.
    """
    p = Path(path)
    folder = p if directory else p.parent
    if p.exists() and (p.is_dir() != directory):
        kind = "a folder" if p.is_dir() else "a file"
        raise OutputError(f"{option} '{p}' is {kind}; give a {'folder' if directory else 'file'} path")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write {option} '{p}': '{existing}' is a file, not a folder; choose another path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".saswot-write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"cannot write {option} '{p}': {exc.strerror or exc} ('{exc.filename or folder}'); "
            "choose a writable location"
        ) from None
    return p


def read_json(path: str | os.PathLike[str], what: str = "JSON file", hint: str = "") -> Any:
    """Read a JSON file, raising clear errors for a missing or corrupt file."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{what} not found at '{p}'." + (f" {hint}" if hint else ""))
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptDataError(f"{what} at '{p}' is not valid JSON ({exc}). Re-download or regenerate it.") from exc


def check_checkpoint_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if it is a file; a clear error for a folder or a missing file (no torch needed).

    Raises:
        DataNotFoundError: ``path`` is a folder (the message lists its .pt files) or does not exist.
    """
    p = Path(path)
    if p.is_dir():
        runs = sorted(q.name for q in p.glob("*.pt"))
        raise DataNotFoundError(
            f"checkpoint '{p}' is a folder; give a .pt file in it"
            + (f" ({', '.join(runs[:5])})" if runs else " (a run folder of 'saswot train' holds best.pt and last.pt)")
        )
    if not p.is_file():
        raise DataNotFoundError(
            f"checkpoint '{p}' not found. Give the path of a .pt written by 'saswot train' "
            "(RUN_DIR/best.pt or RUN_DIR/last.pt)."
        )
    return p


def sibling(out: str | os.PathLike[str], suffix: str) -> Path:
    """The file beside ``out`` that shares its stem: ``sibling("run/x.json", ".ckpt.json")`` is ``run/x.ckpt.json``.

    The one naming scheme of the files a command writes next to its result (checkpoints, curves,
    AVT statistics, caches of a search).
    """
    p = Path(out)
    return p.with_name(p.stem + suffix)


def checkpoint_path(out: str | os.PathLike[str]) -> Path:
    """The checkpoint of the run whose result is ``out``: ``<stem>.ckpt.json`` beside it."""
    return sibling(out, ".ckpt.json")
