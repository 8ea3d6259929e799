"""What a proxy is: its function, the statistics it reads and the AVT terms it normalises.

A proxy declares once, when it is registered, every statistic it reads (:class:`Stat`): the
shared statistics pass of a :func:`saswot.proxies.score_network` call collects exactly the union
of what the proxies being scored require, and a proxy that runs its own pass (synflow, zen, ...)
requires nothing of it. A proxy that reads another one through ``ctx.value(name)`` names it in
``uses`` (or, when it AVT-normalises it, in ``avt_terms``) and inherits its requirements.

Non-finite scores become :data:`SENTINEL` (``-1e8``, NAS-Bench-Suite-Zero's convention).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from saswot.errors import UnknownNameError

if TYPE_CHECKING:
    from saswot.proxies.context import ProxyContext

#: Score given to a proxy whose value is NaN or +-inf (NAS-Bench-Suite-Zero used -1e8 too).
SENTINEL: float = -1e8


class Stat(enum.Enum):
    """A statistic a proxy reads from its :class:`saswot.proxies.ProxyContext`.

    All but :attr:`COUNTS` come from the shared forward + backward pass
    (:func:`saswot.stats.collect_stats`, ``ctx.stats``).
    """

    #: Per Conv2d / Linear layer: W, dL/dW, a bounded sample of the output and the Fisher
    #: saliency, plus the loss (``ctx.stats.layers``); every shared pass collects them.
    LAYERS = "layers"
    #: The NWOT kernel K_H of the ReLU-type modules' binary codes (``ctx.stats.nwot_kernel``).
    NWOT_KERNEL = "nwot_kernel"
    #: d(sum of logits)/dx, from a second, input-only backward (``ctx.stats.input_grad``).
    INPUT_GRAD = "input_grad"
    #: The weight gradients with their autograd graph (``ctx.stats.extra["grad_graph"]``).
    GRAD_GRAPH = "grad_graph"
    #: The classifier's input feature map (``ctx.stats.features``).
    FEATURES = "features"
    #: Parameter and FLOP counts at batch 1 (``ctx.counts()``; no shared pass).
    COUNTS = "counts"


#: Statistics collected by the shared pass: requiring any of them runs it.
SHARED_PASS_STATS: frozenset[Stat] = frozenset(
    {Stat.LAYERS, Stat.NWOT_KERNEL, Stat.INPUT_GRAD, Stat.GRAD_GRAPH, Stat.FEATURES}
)
#: What a proxy requires unless it says otherwise: the per-layer statistics of the shared pass.
DEFAULT_REQUIRES: frozenset[Stat] = frozenset({Stat.LAYERS})


@dataclass(frozen=True)
class ProxySpec:
    """A proxy.

    Attributes:
        name: registry name (also the CLI name).
        fn: ``fn(ctx) -> float``.
        requires: every statistic the proxy reads (:class:`Stat`), including those of the
            proxies it reads through ``ctx.value`` (:meth:`ProxyRegistry.register` adds them);
            empty for a proxy that runs its own pass.
        avt_terms: registry names of the proxies whose values this proxy normalises with the
            AVT min/max of ``ctx.avt`` (e.g. ``("saswot_minus", "nwot")``); empty if it needs no
            AVT statistics.
        description: one line for ``--help`` and docs.
        cache_id: identity used in score caches (defaults to ``name``; file-based proxies use a
            content hash so that an edited file is not served stale scores).
        chosen_on: for a discovered proxy, ``(space, keys)`` of the architectures used to search and
            validate it; rankings of that space leave them out, so its figures are on unseen archs.
        nan_reason: when the proxy is undefined on a network (it returns NaN), why, and what to
            change; shown with the sentinel in tables and JSON.
    """

    name: str
    fn: Callable[[ProxyContext], float]
    requires: frozenset[Stat] = DEFAULT_REQUIRES
    avt_terms: tuple[str, ...] = ()
    description: str = ""
    cache_id: str | None = None
    chosen_on: tuple[str, frozenset[str]] | None = None
    nan_reason: str = ""

    def __post_init__(self) -> None:
        requires = frozenset(self.requires)
        wrong = [s for s in requires if not isinstance(s, Stat)]
        if wrong:
            raise TypeError(f"proxy '{self.name}': requires must hold saswot.proxies.Stat members, got {wrong!r}")
        object.__setattr__(self, "requires", requires)
        object.__setattr__(self, "avt_terms", tuple(self.avt_terms))

    @property
    def needs_avt(self) -> bool:
        """True if the proxy needs AVT min/max statistics (``ctx.avt``), i.e. has AVT terms."""
        return bool(self.avt_terms)

    @property
    def cache_key(self) -> str:
        """Identity of this proxy in on-disk caches."""
        return self.cache_id or self.name


class ProxyRegistry:
    """An explicit name -> :class:`ProxySpec` registry that rejects duplicate names."""

    def __init__(self) -> None:
        self._specs: dict[str, ProxySpec] = {}

    def add(self, spec: ProxySpec) -> ProxySpec:
        """Add a spec; raises ValueError if the name is taken."""
        if spec.name in self._specs:
            raise ValueError(f"proxy '{spec.name}' is already registered")
        self._specs[spec.name] = spec
        return spec

    def register(
        self,
        name: str,
        *,
        requires: Iterable[Stat] = DEFAULT_REQUIRES,
        uses: Iterable[str] = (),
        avt_terms: Iterable[str] = (),
        description: str = "",
        cache_id: str | None = None,
        nan_reason: str = "",
    ) -> Callable[[Callable[[ProxyContext], float]], Callable[[ProxyContext], float]]:
        """Decorator registering ``fn`` under ``name`` (the function is returned unchanged).

        Args:
            name: registry name.
            requires: the statistics ``fn`` reads itself (default: the per-layer statistics of
                the shared pass; give an empty set for a proxy that runs its own pass).
            uses: registered proxies ``fn`` reads through ``ctx.value``; their requirements are
                added to ``requires``.
            avt_terms: registered proxies ``fn`` reads and AVT-normalises with ``ctx.avt``; their
                requirements are added too.
            description: one line (default: the first line of ``fn``'s docstring).
            cache_id: keys the proxy's values in score caches (default ``name``): give a new one
                (e.g. ``"zen@2"``) when a change of the definition makes cached values stale.
            nan_reason: why the proxy can be undefined (NaN) on a network, and what to change.

        Raises:
            UnknownNameError: a proxy of ``uses`` / ``avt_terms`` is not registered yet (import
                the module that registers it first).
        """
        terms = tuple(avt_terms)
        inherited = self.requirements([*uses, *terms], user=name)

        def deco(fn: Callable[[ProxyContext], float]) -> Callable[[ProxyContext], float]:
            self.add(
                ProxySpec(
                    name=name,
                    fn=fn,
                    requires=frozenset(requires) | inherited,
                    avt_terms=terms,
                    description=description or _first_line(fn.__doc__),
                    cache_id=cache_id,
                    nan_reason=nan_reason,
                )
            )
            return fn

        return deco

    def requirements(self, names: Iterable[str], user: str | None = None) -> frozenset[Stat]:
        """Union of the requirements of the registered proxies ``names``.

        Raises:
            UnknownNameError: a name is not registered (``user``, the proxy that reads it, is
                named in the message).
        """
        out: frozenset[Stat] = frozenset()
        for n in names:
            if n not in self._specs:
                who = f"proxy '{user}' reads '{n}', which" if user else f"'{n}'"
                raise UnknownNameError(f"{who} is not registered (yet): import the module that registers '{n}' first")
            out |= self._specs[n].requires
        return out

    def get(self, name: str) -> ProxySpec:
        """The spec called ``name``; raises :class:`UnknownNameError` listing valid names."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown proxy '{name}'. Valid proxies: {', '.join(self.names())}; "
                "or give the path of a proxy JSON file (ending in .json)."
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ProxySpec]:
        return iter([self._specs[n] for n in self.names()])

    def __len__(self) -> int:
        return len(self._specs)


def required_stats(specs: Iterable[ProxySpec]) -> frozenset[Stat]:
    """Union of the statistics ``specs`` require: what their shared pass must collect."""
    out: frozenset[Stat] = frozenset()
    for s in specs:
        out |= s.requires
    return out


#: The package-wide registry (filled when :mod:`saswot.proxies` imports its modules).
REGISTRY = ProxyRegistry()
#: Decorator registering a proxy into :data:`REGISTRY`.
register_proxy = REGISTRY.register


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0].strip() if lines else ""
