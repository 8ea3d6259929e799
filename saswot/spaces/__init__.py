"""Search spaces: one protocol (:class:`SearchSpace`), one registry, ground-truth tables.

Typical use::

    from saswot.spaces import get_space, space_names
    space = get_space("macro")                    # any registered name, see space_names()
    arch = space.parse("64-1242-basic")
    net = space.build(arch, num_classes=space.num_classes, seed=0)
    bench = space.benchmark()                     # ground truth (benchmark-style spaces)

A new space: subclass :class:`BaseSpace` (parse, key, build; sample or enumerate; benchmark for
ground truth) and call :func:`register_space` — see ``docs/extending.md``.
"""

from saswot.spaces.base import (
    BENCHMARK,
    LATENCY,
    REGISTRY,
    SEGMENTER_SEARCH,
    ArchCost,
    BaseSpace,
    Benchmark,
    SearchSpace,
    SpaceRegistry,
    get_space,
    register_space,
    space_names,
    space_summary,
)
from saswot.spaces.table import TableBenchmark

__all__ = [
    "BENCHMARK",
    "LATENCY",
    "REGISTRY",
    "SEGMENTER_SEARCH",
    "ArchCost",
    "BaseSpace",
    "Benchmark",
    "SearchSpace",
    "SpaceRegistry",
    "TableBenchmark",
    "get_space",
    "register_space",
    "space_names",
    "space_summary",
]
