"""The trained ground truth of the FasterSeg space: a JSON-lines file of finished training runs.

:class:`BenchFile` is shared by several processes (``saswot minibench run``): every
read-modify step holds an ``fcntl`` lock on the file itself, and an entry is appended only if no
entry with the same (architecture, recipe, seed) is there yet. :func:`load_bench` reads the
finished entries back, grouped by architecture (the space's ``benchmark()``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saswot.errors import CorruptDataError, DataNotFoundError

#: Format tag of every line of a benchmark file.
ENTRY_FORMAT = "saswot-minibench/1"


def entry_id(key: str, recipe_id: str, seed: int) -> tuple[str, str, int]:
    """Identity of a benchmark entry."""
    return (key, recipe_id, int(seed))


# ----------------------------------------------------------------------------- bench file
class BenchFile:
    """A JSON-lines benchmark file shared by processes (``fcntl`` lock on the file itself).

    Every line is one finished run (see :func:`train_job` for the fields). Appends happen under
    an exclusive lock, after checking that the (key, recipe_id, seed) is not already present.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive lock of the file (created empty if missing)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        """All entries (a missing file is empty; a truncated last line, left by a killed writer, is skipped).

        Raises:
            CorruptDataError: a complete line is not a JSON object of this format.
        """
        if not self.path.exists():
            return []
        text = self.path.read_text()
        lines = text.split("\n")
        out = []
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            last_unterminated = i == len(lines) and not text.endswith("\n")
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                if last_unterminated:
                    continue
                raise CorruptDataError(f"{self.path}:{i}: not a JSON line ({exc}); remove or fix that line") from exc
            if not isinstance(d, dict) or d.get("format") != ENTRY_FORMAT:
                raise CorruptDataError(f"{self.path}:{i}: not a {ENTRY_FORMAT} entry; is this a minibench file?")
            out.append(d)
        return out

    def done_ids(self) -> set[tuple[str, str, int]]:
        """Identities of the finished entries."""
        return {entry_id(e["key"], e["recipe_id"], e["seed"]) for e in self.entries()}

    def append(self, entry: dict[str, Any]) -> bool:
        """Append ``entry`` unless an entry with its identity exists; True if written."""
        line = json.dumps(entry, sort_keys=True, allow_nan=False) + "\n"
        with self.locked():
            if entry_id(entry["key"], entry["recipe_id"], entry["seed"]) in self.done_ids():
                return False
            self._write_line(line)
        return True

    def _write_line(self, line: str) -> None:
        data = self.path.read_bytes() if self.path.exists() else b""
        if data and not data.endswith(b"\n"):
            # a killed writer left a partial last line: drop it rather than glue an entry onto it
            os.truncate(self.path, data.rfind(b"\n") + 1)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


# ----------------------------------------------------------------------------- reading back
def load_bench(path: str | Path | Sequence[str | Path], recipe_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Finished entries grouped by architecture key: ``{key: {"arch", "miou" (mean over seeds), "seeds", ...}}``.

    Args:
        path: benchmark file, or several files pooled (e.g. two samples trained with one recipe).
        recipe_id: keep only entries of this recipe (``None``: the files must hold one recipe).

    Raises:
        DataNotFoundError: no such file.
        CorruptDataError: the files mix recipes and none was chosen.
    """

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    entries: list[dict[str, Any]] = []
    for p in paths:
        bf = BenchFile(p)
        if not bf.path.is_file():
            raise DataNotFoundError(f"benchmark file not found at '{p}'; create it with `saswot minibench run`")
        entries += bf.entries()
    ids = sorted({e["recipe_id"] for e in entries})
    if recipe_id is None and len(ids) > 1:
        raise CorruptDataError(f"the benchmark holds several recipes ({', '.join(ids)}); choose one with {{recipe_id}}")
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        if (recipe_id is not None and e["recipe_id"] != recipe_id) or e.get("miou") is None:
            continue  # another recipe, or a diverged run (counted by `minibench status`)
        g = out.setdefault(
            e["key"],
            {
                "arch": e["arch"],
                "label": e["label"],
                "mious": [],
                "seeds": [],
                "params_m": e["params_m"],
                "gmacs": e["gmacs"],
                "latency_ms": e.get("latency_ms"),
            },
        )
        g["mious"].append(float(e["miou"]))
        g["seeds"].append(int(e["seed"]))
    for g in out.values():
        g["miou"] = float(np.mean(g["mious"]))
    return out
