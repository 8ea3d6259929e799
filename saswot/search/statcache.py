"""On-disk cache of the per-architecture statistics (A, G, W per layer) of the proxy search.

What is kept of each layer (the memory bound) and how many architectures are scored at once
(:class:`PackedStats`) is defined in :mod:`saswot.proxies.expr.packed`, re-exported here;
:class:`StatCache` stores one architecture's kept statistics per ``.pt`` file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from saswot.errors import CorruptDataError
from saswot.proxies.expr.packed import (
    A_CAP,
    A_CHANNELS,
    W_CAP,
    ArchStats,
    LayerTensors,
    PackedStats,
    arch_stats_from_netstats,
    pack,
    subsample_layer,
)
from saswot.runtime.allocator import collect_on_exit
from saswot.utils.io import atomic_path
from saswot.utils.paths import cache_file_name

#: Version of the on-disk cache format (bump when the sampling rule changes).
CACHE_VERSION = 1

__all__ = [
    "A_CAP",
    "A_CHANNELS",
    "CACHE_VERSION",
    "W_CAP",
    "ArchStats",
    "LayerTensors",
    "PackedStats",
    "StatCache",
    "arch_stats_from_netstats",
    "pack",
    "subsample_layer",
]


def _file_name(key: str) -> str:
    return cache_file_name("".join(ch if ch.isalnum() else "_" for ch in key).strip("_"), key, ".pt")


class StatCache:
    """On-disk cache of :class:`ArchStats`, one ``.pt`` file per architecture.

    Args:
        folder: cache directory (created on demand).
        compute: ``compute(key) -> NetStats`` for architectures not cached yet.
        tag: identifies the statistics setting (space, batch); stored and checked on load.
    """

    def __init__(self, folder: str | Path, compute: Callable[[str], object], tag: str) -> None:
        self.folder = Path(folder)
        self.compute = compute
        self.tag = tag
        #: ``(space, cache_dir, data_root)`` when entries can be computed in a worker process
        #: (``space``: a registered name or a space object).
        self.worker_spec: tuple[Any, str | None, str | None] | None = None

    def path(self, key: str) -> Path:
        """File of one architecture."""
        return self.folder / _file_name(key)

    def get(self, key: str) -> ArchStats:
        """Load from disk or compute, store and return."""
        p = self.path(key)
        if p.exists():
            try:
                blob = torch.load(p, map_location="cpu", weights_only=True)
            except (RuntimeError, EOFError, OSError, ValueError) as exc:
                raise CorruptDataError(f"stat cache file '{p}' is unreadable ({exc}); delete it to recompute") from exc
            if blob.get("version") == CACHE_VERSION and blob.get("tag") == self.tag:
                layers = tuple(
                    LayerTensors(W=d["W"], G=d["G"], A=d["A"], s_w=float(d["s_w"]), s_a=float(d["s_a"]))
                    for d in blob["layers"]
                )
                return ArchStats(key=key, layers=layers, nwot=float(blob["nwot"]))
        st = self.compute_entry(key)
        self.store(st)
        return st

    def compute_entry(self, key: str) -> ArchStats:
        """Compute the kept statistics of one architecture (nothing is written)."""
        # Free the full statistics (and any autograd graph kept alive by hook closures) on leaving:
        # reference cycles would otherwise hold hundreds of MB per architecture until a GC run
        # (the collection skips the long-lived objects, saswot.runtime.allocator).
        with collect_on_exit():
            full = self.compute(key)
            st = arch_stats_from_netstats(key, full)
            del full
        return st

    def store(self, st: ArchStats) -> None:
        """Write one architecture's statistics (atomically: a reader never sees half a file)."""
        key = st.key
        p = self.path(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        blob = {
            "version": CACHE_VERSION,
            "tag": self.tag,
            "key": key,
            "nwot": st.nwot,
            "layers": [{"W": l.W, "G": l.G, "A": l.A, "s_w": l.s_w, "s_a": l.s_a} for l in st.layers],
        }
        with atomic_path(p) as tmp:
            torch.save(blob, tmp)
