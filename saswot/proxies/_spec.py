"""What a proxy is: its function, the statistics it reads and the AVT terms it normalises.

A proxy declares once, when it is registered, every statistic it reads (:class:`Stat`): the
shared statistics pass of a :func:`saswot.proxies.score_network` call collects exactly the union
of what the proxies being scored require, and a proxy that runs its own pass (synflow, zen, ...)
requires nothing of it. A proxy that reads another one through ``ctx.value(name)`` names it in
``uses`` (or, when it AVT-normalises it, in ``avt_terms``) and inherits its requirements.

Non-finite scores become :data:`SENTINEL` (``-1e8``, NAS-Bench-Suite-Zero's convention).

The proxy context, :class:`ProxyContext`, is defined here too (the registry and the context
read each other): what a proxy may look at (network, batch, settings, shared statistics).

Proxies that can work from the shared statistics pass read ``ctx.stats`` (computed once, lazily,
for all of them, collecting exactly the statistics the context ``requires``); grasp continues
that pass's graph (one extra backward, no forward); proxies that need their own pass (synflow,
zen, ...) run it on the same private copy (``ctx.work_copy()``) through
``torch.func.functional_call`` with their own weights, so a network is deep-copied only once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from saswot.errors import SENTINEL as SENTINEL  # re-exported: the proxies' score of a failure
from saswot.errors import ScoreError, UnknownNameError
from saswot.proxies._settings import ScoringSettings
from saswot.proxies._stats import NetStats, collect_stats, prepare_copy
from saswot.registry import Registry
from saswot.utils.counting import count_model


class Stat(enum.Enum):
    """A statistic a proxy reads from its :class:`saswot.proxies.ProxyContext`.

    All but :attr:`COUNTS` come from the shared forward + backward pass
    (:func:`saswot.proxies._stats.collect_stats`, ``ctx.stats``).
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


def _unknown_proxy(name: str, valid: list[str]) -> str:
    return (
        f"unknown proxy '{name}'. Valid proxies: {', '.join(valid)}; "
        "or give the path of a proxy JSON file (ending in .json)."
    )


def _spec_name(spec: ProxySpec) -> str:
    return spec.name


class ProxyRegistry(Registry[ProxySpec]):
    """The proxy registry: a :class:`saswot.registry.Registry` of :class:`ProxySpec` (names sorted)
    with a decorator that registers a function and records what it needs."""

    def __init__(self) -> None:
        super().__init__("proxy", key=_spec_name, sort_names=True, unknown=_unknown_proxy)

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
            UnknownNameError: a proxy of ``uses`` / ``avt_terms`` is not registered yet (list
                the module that registers it earlier in :data:`saswot.proxies.measures.MEASURES`).
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
            spec = self.find(n)
            if spec is None:
                who = f"proxy '{user}' reads '{n}', which" if user else f"'{n}'"
                raise UnknownNameError(f"{who} is not registered (yet): import the module that registers '{n}' first")
            out |= spec.requires
        return out


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


#: What a context built directly (not by :func:`saswot.proxies.make_context`) collects: every
#: statistic but the graph-attached gradients and the feature map.
DIRECT_CONTEXT_STATS: frozenset[Stat] = frozenset({Stat.LAYERS, Stat.NWOT_KERNEL, Stat.INPUT_GRAD, Stat.COUNTS})


@dataclass
class ProxyContext:
    """What a proxy may look at: the network, the batch, the settings and the shared statistics.

    ``stats`` is computed on first access (one pass for every proxy of a
    :func:`saswot.proxies.score_network` call) and holds what ``requires`` names; ``values``
    memoises raw proxy values so that a combined proxy (``saswot``) reuses ``saswot_minus`` and
    ``nwot`` instead of recomputing them. ``num_classes``, ``ignore_index``, ``device``, ``avt``,
    ``act_max_elems`` and ``seed`` are read-only shorthands for the fields of ``settings``.
    """

    model: nn.Module
    images: Tensor
    labels: Tensor
    settings: ScoringSettings
    requires: frozenset[Stat] = DIRECT_CONTEXT_STATS
    values: dict[str, float] = field(default_factory=dict)
    _stats: NetStats | None = field(default=None, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def num_classes(self) -> int:
        """``settings.num_classes``."""
        return self.settings.num_classes

    @property
    def ignore_index(self) -> int:
        """``settings.ignore_index``."""
        return self.settings.ignore_index

    @property
    def device(self) -> str:
        """``settings.device``."""
        return self.settings.device

    @property
    def avt(self) -> Any:
        """``settings.avt``."""
        return self.settings.avt

    @property
    def act_max_elems(self) -> int:
        """``settings.act_max_elems``."""
        return self.settings.act_max_elems

    @property
    def seed(self) -> int:
        """``settings.seed``."""
        return self.settings.seed

    @property
    def stats(self) -> NetStats:
        """The shared statistics pass (computed once, collecting what ``requires`` names).

        Raises:
            ScoreError: ``requires`` names no statistic of the shared pass (a proxy read
                ``ctx.stats`` without declaring what it reads).
        """
        if self._stats is None:
            if not self.requires & SHARED_PASS_STATS:
                raise ScoreError(
                    "a proxy read ctx.stats, but no proxy being scored requires a statistic of the shared pass: "
                    "declare what it reads when registering it, e.g. requires={Stat.LAYERS}"
                )
            s = self.settings
            self._stats = collect_stats(
                self.work_copy(),
                self.images,
                self.labels,
                ignore_index=s.ignore_index,
                act_max_elems=s.act_max_elems,
                need_input_grad=Stat.INPUT_GRAD in self.requires,
                need_nwot=Stat.NWOT_KERNEL in self.requires,
                need_features=Stat.FEATURES in self.requires,
                num_classes=s.num_classes,
                device=s.device,
                copy_model=False,
                keep_grad_graph=Stat.GRAD_GRAPH in self.requires,
            )
        return self._stats

    def work_copy(self) -> nn.Module:
        """A private copy of the model (train mode, dropout off, no hooks) shared by every proxy;
        made once. Its parameters share the caller's storage (``prepare_copy(share_weights=True)``),
        so proxies must never write to its weights: a proxy that needs other weights (synflow's
        |W|, zen's Gaussian init) passes them through ``torch.func.functional_call``, gradients
        come from ``torch.autograd.grad``. Only the copy's own BatchNorm running statistics change
        (train-mode forwards), which no proxy reads."""
        if "__copy__" not in self._memo:
            self._memo["__copy__"] = prepare_copy(self.model, self.settings.device, share_weights=True)
        return self._memo["__copy__"]

    def counts(self) -> Any:
        """Parameter / FLOP counts (:func:`saswot.utils.counting.count_model`) at batch 1 and the batch's
        resolution, computed once on a hook-free copy (the caller's hooks never fire).

        Raises:
            ScoreError: ``requires`` lacks :attr:`Stat.COUNTS` (the proxy did not declare it).
        """
        if Stat.COUNTS not in self.requires:
            raise ScoreError("a proxy read ctx.counts() without declaring it: register it with requires={Stat.COUNTS}")
        if "__counts__" not in self._memo:
            shape = (1, *tuple(self.images.shape[1:]))
            self._memo["__counts__"] = count_model(self.work_copy(), shape)
        return self._memo["__counts__"]

    def value(self, name: str) -> float:
        """Raw (non-sanitised) value of another registered proxy, memoised.

        Raises:
            ScoreError: the statistics ``name`` requires are not collected by this context (the
                reading proxy did not name it in ``uses`` or ``avt_terms``).
        """
        if name not in self.values:
            spec = REGISTRY.get(name)
            missing = spec.requires - self.requires
            if missing:
                raise ScoreError(
                    f"proxy '{name}' was read through ctx.value, but this context does not collect "
                    f"{', '.join(sorted(s.value for s in missing))}: name '{name}' in uses= (or avt_terms=) "
                    "when registering the proxy that reads it"
                )
            self.values[name] = float(spec.fn(self))
        return self.values[name]


def conv_linear_layers(model: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    """Conv2d and Linear modules of ``model`` in module order."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
