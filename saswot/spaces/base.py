"""The search-space protocol, a base class with defaults, and the space registry.

A search space tells saswot how to read, name, build, sample and cost its architectures; a
benchmark-style space also gives ground truth (:meth:`SearchSpace.benchmark`). Every command that
takes ``--space`` (``rank``, ``bench info``, ``avt-calibrate``, ``search-proxy``, ``search-arch``,
``arch-info``) resolves the name here, so a new space is one module that registers itself.

Spaces are found three ways, in this order:

* registered in this process with :func:`register_space` (e.g. in a notebook or a test);
* built in: every ``saswot.spaces.<package>.space`` module (imported on first lookup, so that
  ``import saswot.spaces`` stays light) registers its spaces;
* installed packages exposing an entry point in the group ``saswot.spaces`` whose object is a
  space or a sequence of spaces.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from saswot.config import ArchSearchConfig
from saswot.errors import SaswotError, UnknownNameError
from saswot.registry import Registry

#: Capability names a space may declare in :attr:`SearchSpace.capabilities`.
BENCHMARK = "benchmark"  # has ground truth (rank, avt-calibrate, search-proxy, bench info)
SEGMENTER_SEARCH = "segmenter-search"  # has a training-free segmenter search (search-arch)
LATENCY = "latency"  # can estimate latency (arch-info --latency)


@dataclass(frozen=True)
class ArchCost:
    """Size and cost of one network at one input resolution."""

    params_m: float
    gmacs: float


@runtime_checkable
class Benchmark(Protocol):
    """Ground truth of a benchmark-style space: per task, ``{canonical key: record}``.

    A record holds the ground truth (``val_accuracy``: larger is better) and any reference
    scores. :class:`saswot.spaces.table.TableBenchmark` implements it for JSON tables.
    """

    path: Path | None
    default_task: str

    @property
    def tasks(self) -> list[str]: ...

    def keys(self, task: str | None = None) -> list[str]: ...

    def archs(self, task: str | None = None) -> list[Any]: ...

    def ground_truths(self, task: str | None = None) -> dict[str, float]: ...

    def ground_truth(self, arch_or_key: Any, task: str | None = None) -> float: ...

    def sample(self, n: int, rng: np.random.Generator, task: str | None = None) -> list[Any]: ...

    def record(self, arch_or_key: Any, task: str | None = None) -> dict[str, Any]: ...

    def reference_score(self, arch_or_key: Any, proxy: str, task: str | None = None) -> float | None: ...

    def proxies(self, task: str | None = None) -> list[str]: ...


@runtime_checkable
class SearchSpace(Protocol):
    """What saswot needs to know about a search space.

    Attributes:
        name: registry name (the ``--space`` value).
        description: one line for ``saswot spaces`` and error messages.
        num_classes: output classes of the networks scored by default (the benchmark's task).
        capabilities: subset of {:data:`BENCHMARK`, :data:`SEGMENTER_SEARCH`, :data:`LATENCY`}.
    """

    name: str
    description: str
    num_classes: int
    capabilities: frozenset[str]

    def parse(self, text: Any) -> Any:
        """An architecture from its text (key, string or file); raises ``InvalidArchError``."""
        ...

    def key(self, arch: Any) -> str:
        """Canonical key: equal networks have equal keys (caches, benchmark lookup)."""
        ...

    def describe(self, arch: Any) -> str:
        """A human-readable form of ``arch`` (may equal the key)."""
        ...

    def build(self, arch: Any, *, num_classes: int, seed: int | None = None) -> Any:
        """The ``nn.Module`` of ``arch`` with weights initialised from ``seed``."""
        ...

    def sample(self, n: int, rng: np.random.Generator) -> list[Any]:
        """``n`` distinct random architectures of the whole space (same generator state, same sample)."""
        ...

    def enumerate(self) -> Iterable[Any] | None:
        """Every architecture where the space is finite and small enough to list, else None."""
        ...

    def cost(self, arch: Any, resolution: tuple[int, int], num_classes: int | None = None) -> ArchCost:
        """Parameters (M) and GMACs of ``arch`` for one ``resolution`` input."""
        ...

    def benchmark(
        self, path: str | os.PathLike[str] | None = None, data_root: str | os.PathLike[str] | None = None
    ) -> Benchmark | None:
        """Ground truth (from ``path``, else the space's default file under the data root), or None."""
        ...


@runtime_checkable
class SegmenterProblem(Protocol):
    """The search problem a space with :data:`SEGMENTER_SEARCH` gives :func:`saswot.search.segmenter.run_arch_search`.

    It is the engine's ``SearchProblem`` (:mod:`saswot.search.evolution`: sample, mutate,
    crossover, key, is_valid, evaluate, to/from JSON) over the space's genomes, plus what the
    generic search reads of the space: decoding, cost, latency, legality and a description.

    Attributes:
        space_name: the space's registry name (recorded in calibration files).
        scorer: the fitness of a decoded network (``arch -> float | None``); the search sets it.
        executor: where :meth:`evaluate_batch` scores networks (None: in this process).
        lut: the latency table of a latency budget, or None.
        failures: ``{arch key: reason}`` of networks whose worker died twice.
        unavailable: ``{arch key: reason}`` of networks the proxy raised an error on (rejected, n/a).
        eval_seconds: wall seconds of each network scored.
    """

    space_name: str
    scorer: Callable[[Any], float | None]
    executor: Any
    lut: Any
    failures: dict[str, str]
    unavailable: dict[str, str]
    eval_seconds: list[float]

    def sample(self, rng: np.random.Generator) -> Any: ...

    def mutate(self, genome: Any, rng: np.random.Generator) -> Any: ...

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Any: ...

    def key(self, genome: Any) -> str: ...

    def is_valid(self, genome: Any) -> bool: ...

    def evaluate(self, genome: Any) -> float | None: ...

    def evaluate_batch(self, genomes: list[Any]) -> list[float | None]: ...

    def to_json(self, genome: Any) -> Any: ...

    def from_json(self, data: Any) -> Any: ...

    def decode(self, genome: Any) -> Any:
        """The network (architecture) a genome decodes to."""
        ...

    def cost(self, arch: Any) -> dict[str, float | None]:
        """``params_m``, ``gmacs`` (at the budget's resolution) and ``latency_ms`` if known."""
        ...

    def latency(self, arch: Any) -> float:
        """Latency (ms) at the budget's resolution, from :attr:`lut`."""
        ...

    def legal(self, arch: Any) -> bool:
        """True if ``arch`` obeys the space's rules (whatever the budget)."""
        ...

    def describe(self) -> dict[str, Any]:
        """The problem's settings as plain JSON (recorded in checkpoints)."""
        ...


@runtime_checkable
class SegmenterSearch(Protocol):
    """A space with :data:`SEGMENTER_SEARCH`: it gives the search problem of one segmenter search."""

    def segmenter_problem(
        self,
        settings: ArchSearchConfig,
        scorer: Callable[[Any], float | None],
        *,
        executor: Any = None,
        on_note: Callable[[str], None] | None = None,
    ) -> SegmenterProblem:
        """The problem of ``settings`` (budget checked: an unreachable one raises with the cheapest cost)."""
        ...


@runtime_checkable
class LatencyReporter(Protocol):
    """A space with :data:`LATENCY`: latency of one architecture (``arch-info --latency``)."""

    def latency_report(
        self,
        arch: Any,
        resolution: tuple[int, int],
        num_classes: int,
        device: str = "cpu",
        on_component: Any = None,
    ) -> dict[str, Any]:
        """LUT latency (total and per part) and measured end-to-end latency, in ms."""
        ...


@runtime_checkable
class TrainableSpace(Protocol):
    """A space whose architectures ``saswot train`` can train (read back from JSON, with auxiliary heads)."""

    def from_json(self, data: Any) -> Any: ...

    def build_for_training(self, arch: Any, *, num_classes: int, aux_heads: bool = False) -> Any: ...


class BaseSpace:
    """Defaults for a :class:`SearchSpace`: subclass it and implement ``parse``, ``key`` and ``build``.

    ``describe`` returns the key; ``sample`` draws from :meth:`enumerate` (a space without an
    enumeration must override it); ``cost`` counts the built network on the meta device;
    ``benchmark`` returns None (no ground truth).
    """

    name: str = ""
    description: str = ""
    num_classes: int = 10
    capabilities: frozenset[str] = frozenset()
    #: The objective ``search-arch`` optimises in this space when no proxy is given (a proxy or
    #: predictor reference such as ``predictor:camvid``); None: the search needs one.
    default_objective: str | None = None

    def parse(self, text: Any) -> Any:
        raise NotImplementedError

    def key(self, arch: Any) -> str:
        raise NotImplementedError

    def describe(self, arch: Any) -> str:
        return self.key(arch)

    def build(self, arch: Any, *, num_classes: int, seed: int | None = None) -> Any:
        raise NotImplementedError

    def enumerate(self) -> Iterable[Any] | None:
        return None

    def sample(self, n: int, rng: np.random.Generator) -> list[Any]:
        everything = self.enumerate()
        if everything is None:
            raise SaswotError(f"space '{self.name}' cannot be sampled: it implements neither sample() nor enumerate()")
        pool = list(everything)
        if not 0 <= n <= len(pool):
            raise SaswotError(f"cannot sample {n} architectures from space '{self.name}' ({len(pool)} in all)")
        return [pool[int(i)] for i in rng.choice(len(pool), size=n, replace=False)]

    def cost(self, arch: Any, resolution: tuple[int, int], num_classes: int | None = None) -> ArchCost:
        from saswot.utils.counting import count_model  # torch: listing the spaces must not load it

        net = self.build(arch, num_classes=num_classes or self.num_classes, seed=0)
        counts = count_model(net, (1, 3, *resolution))
        return ArchCost(params_m=counts.params / 1e6, gmacs=counts.flops / 2e9)

    def benchmark(
        self, path: str | os.PathLike[str] | None = None, data_root: str | os.PathLike[str] | None = None
    ) -> Benchmark | None:
        return None

    def feature_sets(self) -> tuple[str, ...]:
        """Names of the encodings :meth:`encode` offers, the default first (empty: the space has none)."""
        return ()

    def encode(self, arch: Any, feature_set: str | None = None) -> list[float] | None:
        """A fixed-length numeric encoding of ``arch`` for learned predictors (None: the space has none).

        ``feature_set`` names one of :meth:`feature_sets` (None: the default).
        """
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _space_name(space: SearchSpace) -> str:
    return space.name


class SpaceRegistry(Registry[SearchSpace]):
    """The search-space registry: a :class:`saswot.registry.Registry` of :class:`SearchSpace`
    (registration order) whose lookups can ask for a capability.

    ``discover`` (the package registry: the built-in ``saswot.spaces.<package>.space`` modules) and
    the entry points of ``entry_point_group`` are registered once, on the first lookup.
    """

    def __init__(self, discover: Callable[[], None] | None = None, entry_point_group: str | None = None) -> None:
        super().__init__("search space", key=_space_name, discover=discover, entry_point_group=entry_point_group)

    def add(self, item: SearchSpace, *, replace: bool = False) -> SearchSpace:
        """Add ``space`` under ``space.name``; raises ValueError if the name is taken (unless ``replace``
        or it is the same space), TypeError if it is not a search space."""
        if not isinstance(item, SearchSpace):
            missing = [m for m in ("name", "parse", "key", "build", "sample", "benchmark") if not hasattr(item, m)]
            raise TypeError(f"{item!r} is not a search space (missing: {', '.join(missing) or 'attributes'})")
        same = getattr(item, "name", None) in self._items and self._items[item.name] is item
        return super().add(item, replace=replace or same)

    def get(self, name: str | SearchSpace, capability: str | None = None) -> SearchSpace:
        """The space called ``name`` (a space object is returned as is).

        Raises:
            UnknownNameError: no such space, or it lacks ``capability`` (the message lists the spaces that have it).
        """
        if not isinstance(name, str):
            space = name
        else:
            space_or_none = self.find(name.strip())
            if space_or_none is None:
                raise UnknownNameError(
                    f"unknown search space '{name}'. Registered spaces: {', '.join(self.names(capability))}"
                    + (f" (those with {capability})" if capability else "")
                    + ". Add your own with saswot.spaces.register_space (see docs/extending.md)."
                )
            space = space_or_none
        if capability is not None and capability not in space.capabilities:
            raise UnknownNameError(
                f"search space '{space.name}' has no {capability}; spaces that have it: "
                f"{', '.join(self.names(capability)) or 'none'}"
            )
        return space

    def names(self, capability: str | None = None) -> list[str]:
        """Registered names (with ``capability`` only, if given), in registration order."""
        return [n for n in super().names() if capability is None or capability in self._items[n].capabilities]

    def default(self, capability: str) -> SearchSpace:
        """The one space with ``capability`` (an error naming the choices when there are several or none)."""
        names = self.names(capability)
        if len(names) != 1:
            raise UnknownNameError(
                f"choose a search space with {{space}}: spaces with {capability}: {', '.join(names) or 'none'}"
            )
        return self._items[names[0]]


def import_builtin_spaces() -> None:
    """Import every ``saswot.spaces.<package>.space`` module (each registers its spaces when imported)."""
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.ispkg and importlib.util.find_spec(f"saswot.spaces.{info.name}.space") is not None:
            importlib.import_module(f"saswot.spaces.{info.name}.space")


#: The package-wide registry.
REGISTRY = SpaceRegistry(import_builtin_spaces, "saswot.spaces")


def register_space(space: SearchSpace, *, replace: bool = False) -> SearchSpace:
    """Register ``space`` in :data:`REGISTRY` (returns it, so it can wrap an assignment)."""
    return REGISTRY.add(space, replace=replace)


def get_space(name: str | SearchSpace, capability: str | None = None) -> SearchSpace:
    """The registered space called ``name`` (see :meth:`SpaceRegistry.get`)."""
    return REGISTRY.get(name, capability)


def require_benchmark(
    space: SearchSpace, path: str | os.PathLike[str] | None = None, data_root: str | os.PathLike[str] | None = None
) -> Benchmark:
    """``space.benchmark(path, data_root)``, for a space that declares :data:`BENCHMARK`.

    Raises:
        UnknownNameError: the space gives no ground truth (its ``benchmark`` returned None).
    """
    bench = space.benchmark(path, data_root)
    if bench is None:
        raise UnknownNameError(
            f"search space '{space.name}' has no ground truth: its benchmark() returned None although it declares "
            f"the {BENCHMARK} capability"
        )
    return bench


def space_names(capability: str | None = None) -> list[str]:
    """Names of the registered spaces (with ``capability`` only, if given)."""
    return REGISTRY.names(capability)


def space_summary() -> list[Mapping[str, Any]]:
    """One row per registered space: name, description, capabilities, default classes."""
    return [
        {
            "name": s.name,
            "description": s.description,
            "capabilities": sorted(s.capabilities),
            "num_classes": s.num_classes,
        }
        for s in REGISTRY
    ]
