"""The search-space protocol, a base class with defaults, and the space registry.

A search space tells saswot how to read, name, build, sample and cost its architectures; a
benchmark-style space also gives ground truth (:meth:`SearchSpace.benchmark`). Every command that
takes ``--space`` (``rank``, ``bench info``, ``avt-calibrate``, ``search-proxy``, ``search-arch``,
``arch-info``) resolves the name here, so a new space is one module that registers itself.

Spaces are found three ways, in this order:

* registered in this process with :func:`register_space` (e.g. in a notebook or a test);
* built in: every ``saswot.<package>.space`` module (imported on first lookup, so that
  ``import saswot.spaces`` stays light) registers its spaces;
* installed packages exposing an entry point in the group ``saswot.spaces`` whose object is a
  space or a sequence of spaces.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from saswot.errors import SaswotError, UnknownNameError

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
        from saswot.counting import count_model

        net = self.build(arch, num_classes=num_classes or self.num_classes, seed=0)
        counts = count_model(net, (1, 3, *resolution))
        return ArchCost(params_m=counts.params / 1e6, gmacs=counts.flops / 2e9)

    def benchmark(
        self, path: str | os.PathLike[str] | None = None, data_root: str | os.PathLike[str] | None = None
    ) -> Benchmark | None:
        return None

    def encode(self, arch: Any) -> list[float] | None:
        """A fixed-length numeric encoding of ``arch`` for learned predictors (None: the space has none)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class SpaceRegistry:
    """An explicit name -> :class:`SearchSpace` registry that rejects duplicate names.

    ``discover`` (default: built-in ``saswot.<package>.space`` modules and the ``saswot.spaces``
    entry points) runs once, on the first lookup.
    """

    def __init__(self, discover: Callable[[SpaceRegistry], None] | None = None) -> None:
        self._spaces: dict[str, SearchSpace] = {}
        self._discover = discover
        self._discovered = discover is None

    def register(self, space: SearchSpace, *, replace: bool = False) -> SearchSpace:
        """Add ``space`` under ``space.name``; raises ValueError if the name is taken (unless ``replace``)."""
        if not isinstance(space, SearchSpace):
            missing = [m for m in ("name", "parse", "key", "build", "sample", "benchmark") if not hasattr(space, m)]
            raise TypeError(f"{space!r} is not a search space (missing: {', '.join(missing) or 'attributes'})")
        if not space.name:
            raise ValueError(f"{space!r} has no name")
        if space.name in self._spaces and not replace and self._spaces[space.name] is not space:
            raise ValueError(f"search space '{space.name}' is already registered")
        self._spaces[space.name] = space
        return space

    def unregister(self, name: str) -> None:
        """Remove a space (no error if absent)."""
        self._spaces.pop(name, None)

    def _ensure(self) -> None:
        if not self._discovered and self._discover is not None:
            self._discovered = True
            self._discover(self)

    def get(self, name: str | SearchSpace, capability: str | None = None) -> SearchSpace:
        """The space called ``name`` (a space object is returned as is).

        Raises:
            UnknownNameError: no such space, or it lacks ``capability`` (the message lists the spaces that have it).
        """
        if not isinstance(name, str):
            space = name
        else:
            self._ensure()
            space_or_none = self._spaces.get(name.strip())
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
        self._ensure()
        return [n for n, s in self._spaces.items() if capability is None or capability in s.capabilities]

    def default(self, capability: str) -> SearchSpace:
        """The one space with ``capability`` (an error naming the choices when there are several or none)."""
        names = self.names(capability)
        if len(names) != 1:
            raise UnknownNameError(
                f"choose a search space with --space: spaces with {capability}: {', '.join(names) or 'none'}"
            )
        return self._spaces[names[0]]

    def __contains__(self, name: object) -> bool:
        self._ensure()
        return name in self._spaces

    def __iter__(self) -> Iterator[SearchSpace]:
        self._ensure()
        return iter(list(self._spaces.values()))


def discover_spaces(registry: SpaceRegistry) -> None:
    """Import every ``saswot.<package>.space`` module and the ``saswot.spaces`` entry points.

    A built-in space module registers its spaces with :func:`register_space` when imported; an
    entry point's object (a space or a sequence of spaces) is registered here.
    """
    import saswot

    for info in sorted(pkgutil.iter_modules(saswot.__path__), key=lambda i: i.name):
        # list the package's modules without importing it (importing saswot.autoproxy or
        # saswot.datasets just to look for a space module would load torch and torchvision)
        folder = getattr(info.module_finder, "path", None)
        if not info.ispkg or folder is None:
            continue
        if any(m.name == "space" for m in pkgutil.iter_modules([str(Path(folder) / info.name)])):
            importlib.import_module(f"saswot.{info.name}.space")
    from importlib.metadata import entry_points

    for ep in entry_points(group="saswot.spaces"):
        obj = ep.load()
        for space in obj if isinstance(obj, Sequence) else [obj]:
            if space.name not in registry._spaces:
                registry.register(space)


#: The package-wide registry.
REGISTRY = SpaceRegistry(discover_spaces)


def register_space(space: SearchSpace, *, replace: bool = False) -> SearchSpace:
    """Register ``space`` in :data:`REGISTRY` (returns it, so it can wrap an assignment)."""
    return REGISTRY.register(space, replace=replace)


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
