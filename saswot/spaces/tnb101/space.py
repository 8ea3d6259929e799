"""The TransNAS-Bench-101 micro (cell) and macro (skeleton) spaces, registered as ``micro`` and ``macro``."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from saswot.errors import UnknownNameError
from saswot.spaces.base import BENCHMARK, ArchCost, BaseSpace, register_space
from saswot.spaces.tnb101.encoding import SPACES, TNBArch, all_macro_archs, all_micro_archs, parse_arch
from saswot.spaces.tnb101.lookup import TNBBenchmark

#: Classes of the segmentsemantic task.
NUM_CLASSES = 17


class TNBSpace(BaseSpace):
    """One TransNAS-Bench-101 space: keys such as ``(1, 0, 0, 2, 1, 0)``, segmentsemantic networks,
    ground truth from NAS-Bench-Suite-Zero's ``zc_transbench101_<space>.json``."""

    num_classes = NUM_CLASSES
    capabilities = frozenset({BENCHMARK})

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description

    def parse(self, text: Any) -> TNBArch:
        return parse_arch(text, self.name)

    def key(self, arch: Any) -> str:
        return str(self.parse(arch).key)

    def describe(self, arch: Any) -> str:
        return str(self.parse(arch).arch_str)

    def build(self, arch: Any, *, num_classes: int = NUM_CLASSES, seed: int | None = None) -> Any:
        from saswot.spaces.tnb101.builder import build_network  # torch: listing the spaces must not load it

        return build_network(self.parse(arch), num_classes=num_classes, seed=seed)

    def enumerate(self) -> list[TNBArch]:
        return list(all_micro_archs() if self.name == SPACES[0] else all_macro_archs())

    def sample(self, n: int, rng: np.random.Generator) -> list[Any]:
        return super().sample(n, rng)

    def cost(self, arch: Any, resolution: tuple[int, int], num_classes: int | None = None) -> ArchCost:
        return super().cost(self.parse(arch), resolution, num_classes)

    def benchmark(
        self, path: str | os.PathLike[str] | None = None, data_root: str | os.PathLike[str] | None = None
    ) -> Any:

        p = Path(path) if path is not None else TNBBenchmark.default_path(self.name, data_root)
        return TNBBenchmark.load(p, self.name)

    def feature_sets(self) -> tuple[str, ...]:
        """The one encoding of the space."""
        return ("onehot",)

    def encode(self, arch: Any, feature_set: str | None = None) -> list[float]:
        """One-hot digits of the key (cell space: op codes 0-3; skeleton space: module codes 1-4, 0 = none).

        Raises:
            UnknownNameError: a ``feature_set`` other than ``onehot``.
        """
        if feature_set not in (None, "onehot"):
            raise UnknownNameError(f"space '{self.name}' has no feature set '{feature_set}'; it has: onehot")
        values = 4 if self.name == SPACES[0] else 5
        out: list[float] = []
        for d in _digits(self.key(arch)):
            out.extend(1.0 if d == v else 0.0 for v in range(values))
        return out

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (tnb_space, (self.name,))


def _digits(key: str) -> list[int]:
    return [int(t) for t in re.findall(r"\d+", key)]


_DESCRIPTIONS = {
    SPACES[0]: "TransNAS-Bench-101 cell space: 4^6 = 4096 cells in a fixed skeleton",
    SPACES[1]: "TransNAS-Bench-101 skeleton space: 3256 module sequences of a fixed cell",
}
_SPACES = {name: TNBSpace(name, _DESCRIPTIONS[name]) for name in SPACES}


def tnb_space(name: str) -> TNBSpace:
    """The registered TransNAS-Bench-101 space called ``name``."""
    return _SPACES[name]


for _space in _SPACES.values():
    register_space(_space)
