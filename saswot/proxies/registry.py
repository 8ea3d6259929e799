"""The proxy registry, the proxy context and the scoring entry point.

A proxy is a function ``fn(ctx: ProxyContext) -> float`` registered by name with
:func:`register_proxy` (a bound method of the explicit :data:`REGISTRY` object). Proxies that can
work from the shared statistics pass read ``ctx.stats`` (computed once, lazily, for all of them);
grasp continues that pass's graph (one extra backward, no forward); proxies that need their own
pass (``own_pass=True``: synflow, zen) run it on the same private copy through
``torch.func.functional_call`` with their own weights, so a network is deep-copied only once.

Non-finite scores become :data:`SENTINEL` (``-1e8``, NAS-Bench-Suite-Zero's convention): the
value ranks below every real score, and :func:`score_network_detailed` reports which proxies
produced it and why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from saswot.errors import UnknownNameError
from saswot.stats import NetStats, collect_stats, prepare_copy

#: Score given to a proxy whose value is NaN or +-inf (NAS-Bench-Suite-Zero used -1e8 too).
SENTINEL: float = -1e8


@dataclass(frozen=True)
class ProxySpec:
    """A registered proxy.

    Attributes:
        name: registry name (also the CLI name).
        fn: ``fn(ctx) -> float``.
        needs_grad: uses gradients (a backward pass).
        needs_labels: uses the labels of the batch.
        bn: False if the proxy removes BatchNorm (synflow); True if BN is kept (train mode).
        own_pass: runs its own forward/backward instead of the shared statistics pass.
        description: one line for ``--help`` and docs.
        needs_avt: needs AVT min/max statistics (``ctx.avt``).
        needs_nwot: reads the NWOT kernel of the shared pass (directly or through ``ctx.value("nwot")``).
        needs_input_grad: reads the input gradient of the shared pass (jacov, epe_nas).
        needs_grad_graph: reads the graph-attached weight gradients of the shared pass (grasp's
            Hessian-gradient product), which is then run with ``create_graph=True``.
        cache_id: identity used in score caches (defaults to ``name``; file-based proxies use a
            content hash so that an edited file is not served stale scores).
        chosen_on: for a discovered proxy, ``(space, keys)`` of the architectures used to search and
            validate it; rankings of that space leave them out, so its figures are on unseen archs.
    """

    name: str
    fn: Callable[[ProxyContext], float]
    needs_grad: bool = True
    needs_labels: bool = True
    bn: bool = True
    own_pass: bool = False
    description: str = ""
    needs_avt: bool = False
    needs_nwot: bool = False
    needs_input_grad: bool = False
    needs_grad_graph: bool = False
    cache_id: str | None = None
    chosen_on: tuple[str, frozenset[str]] | None = None

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
        needs_grad: bool = True,
        needs_labels: bool = True,
        bn: bool = True,
        own_pass: bool = False,
        description: str = "",
        needs_avt: bool = False,
        needs_nwot: bool = False,
        needs_input_grad: bool = False,
        needs_grad_graph: bool = False,
        cache_id: str | None = None,
    ) -> Callable[[Callable[[ProxyContext], float]], Callable[[ProxyContext], float]]:
        """Decorator registering ``fn`` under ``name`` (the function is returned unchanged).

        ``cache_id`` (default ``name``) keys the proxy's values in score caches: give a new one
        (e.g. ``"zen@2"``) when a change of the definition makes cached values stale."""

        def deco(fn: Callable[[ProxyContext], float]) -> Callable[[ProxyContext], float]:
            self.add(
                ProxySpec(
                    name=name,
                    fn=fn,
                    needs_grad=needs_grad,
                    needs_labels=needs_labels,
                    bn=bn,
                    own_pass=own_pass,
                    description=description or _first_line(fn.__doc__),
                    needs_avt=needs_avt,
                    needs_nwot=needs_nwot,
                    needs_input_grad=needs_input_grad,
                    needs_grad_graph=needs_grad_graph,
                    cache_id=cache_id,
                )
            )
            return fn

        return deco

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


#: The package-wide registry (filled when :mod:`saswot.proxies` imports its modules).
REGISTRY = ProxyRegistry()
#: Decorator registering a proxy into :data:`REGISTRY`.
register_proxy = REGISTRY.register


@dataclass
class ProxyContext:
    """What a proxy may look at: the network, the batch, settings and the shared statistics.

    ``stats`` is computed on first access (one pass for every proxy of a :func:`score_network`
    call); ``values`` memoises raw proxy values so that a combined proxy (``saswot``) reuses
    ``saswot_minus`` and ``nwot`` instead of recomputing them.
    """

    model: nn.Module
    images: Tensor
    labels: Tensor
    num_classes: int
    ignore_index: int = 255
    device: str = "cpu"
    avt: Any = None
    act_max_elems: int = 4096
    need_input_grad: bool = True
    need_nwot: bool = True
    need_grad_graph: bool = False
    seed: int = 0
    values: dict[str, float] = field(default_factory=dict)
    _stats: NetStats | None = field(default=None, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def stats(self) -> NetStats:
        """The shared statistics pass (computed once)."""
        if self._stats is None:
            self._stats = collect_stats(
                self.work_copy(),
                self.images,
                self.labels,
                ignore_index=self.ignore_index,
                act_max_elems=self.act_max_elems,
                need_input_grad=self.need_input_grad,
                need_nwot=self.need_nwot,
                device=self.device,
                copy_model=False,
                keep_grad_graph=self.need_grad_graph,
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
            self._memo["__copy__"] = prepare_copy(self.model, self.device, share_weights=True)
        return self._memo["__copy__"]

    def counts(self) -> Any:
        """Parameter / FLOP counts (:func:`saswot.counting.count_model`) at batch 1 and the batch's
        resolution, computed once on a hook-free copy (the caller's hooks never fire)."""
        if "__counts__" not in self._memo:
            from saswot.counting import count_model

            shape = (1, *tuple(self.images.shape[1:]))
            self._memo["__counts__"] = count_model(self.work_copy(), shape)
        return self._memo["__counts__"]

    def value(self, name: str) -> float:
        """Raw (non-sanitised) value of another registered proxy, memoised."""
        if name not in self.values:
            self.values[name] = float(REGISTRY.get(name).fn(self))
        return self.values[name]


def resolve_proxy(name_or_path: str | ProxySpec) -> ProxySpec:
    """Turn a registry name or the path of a proxy JSON file into a :class:`ProxySpec`.

    Raises:
        UnknownNameError: unknown name (the message lists the valid names).
    """
    if isinstance(name_or_path, ProxySpec):
        return name_or_path
    text = str(name_or_path).strip()
    from saswot.ensemble import ensemble_proxy_spec, is_ensemble

    if is_ensemble(text):  # single-network ensemble, scored against its stored calibration
        return ensemble_proxy_spec(text)
    if text.endswith(".json"):
        from saswot.autoproxy import load_proxy_file

        return load_proxy_file(Path(text))
    return REGISTRY.get(text)


def resolve_proxies(arg: str | Sequence[str | ProxySpec]) -> list[ProxySpec]:
    """``"all"``, a comma-separated string or a sequence of names/paths/specs -> specs.

    Raises:
        UnknownNameError: an unknown name, or an empty list.
    """
    if isinstance(arg, str):
        from saswot.ensemble import split_proxy_list

        plain, ensembles = split_proxy_list(arg)  # "ensemble:a,b" keeps its commas
        items: list[str | ProxySpec] = [*plain, *(e.name for e in ensembles)]
    else:
        items = list(arg)
    if not items:
        raise UnknownNameError(f"no proxy given. Valid proxies: {', '.join(REGISTRY.names())}, or 'all'.")
    specs: list[ProxySpec] = []
    for item in items:  # 'all' may be combined with other names or files: "all,my-proxy.json"
        if isinstance(item, str) and item.strip() == "all":
            specs.extend(REGISTRY)
        else:
            specs.append(resolve_proxy(item))
    seen: set[str] = set()
    unique = []
    for s in specs:
        if s.name not in seen:
            seen.add(s.name)
            unique.append(s)
    return unique


@dataclass
class ScoreReport:
    """Scores of one network plus the proxies that failed (score replaced by :data:`SENTINEL`)."""

    scores: dict[str, float]
    failed: dict[str, str]


def sanitize(value: float) -> tuple[float, str | None]:
    """Map a non-finite value to :data:`SENTINEL`; returns (value, reason or None)."""
    if value is None or not math.isfinite(value):
        return SENTINEL, f"non-finite value {value}"
    return float(value), None


def make_context(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    specs: Sequence[ProxySpec],
    *,
    num_classes: int,
    ignore_index: int = 255,
    avt: Any = None,
    device: str = "cpu",
    act_max_elems: int = 4096,
    seed: int = 0,
) -> ProxyContext:
    """A :class:`ProxyContext` whose shared pass collects exactly what ``specs`` read."""
    return ProxyContext(
        model=model,
        images=images,
        labels=labels,
        num_classes=num_classes,
        ignore_index=ignore_index,
        device=device,
        avt=avt,
        act_max_elems=act_max_elems,
        need_input_grad=any(s.needs_input_grad for s in specs),
        need_nwot=any(s.needs_nwot for s in specs),
        need_grad_graph=any(s.needs_grad_graph for s in specs),
        seed=seed,
    )


def score_network_detailed(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    proxies: str | Sequence[str | ProxySpec],
    *,
    num_classes: int,
    ignore_index: int = 255,
    avt: Any = None,
    device: str = "cpu",
    act_max_elems: int = 4096,
    seed: int = 0,
) -> ScoreReport:
    """Score one network with several proxies sharing one statistics pass.

    Returns:
        A :class:`ScoreReport`; failed proxies get :data:`SENTINEL` and a reason.
    """
    specs = resolve_proxies(proxies if isinstance(proxies, str) else list(proxies))
    ctx = make_context(
        model,
        images,
        labels,
        specs,
        num_classes=num_classes,
        ignore_index=ignore_index,
        avt=avt,
        device=device,
        act_max_elems=act_max_elems,
        seed=seed,
    )
    scores: dict[str, float] = {}
    failed: dict[str, str] = {}
    with torch.random.fork_rng(devices=[]):
        for spec in specs:
            raw = ctx.values[spec.name] if spec.name in ctx.values else float(spec.fn(ctx))
            ctx.values.setdefault(spec.name, raw)
            value, reason = sanitize(raw)
            scores[spec.name] = value
            if reason:
                failed[spec.name] = reason
    return ScoreReport(scores=scores, failed=failed)


def score_network(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    proxies: Sequence[str | ProxySpec],
    *,
    num_classes: int,
    ignore_index: int = 255,
    avt: Any = None,
    device: str = "cpu",
) -> dict[str, float]:
    """Scores ``{proxy: value}`` of one network (NaN/inf -> :data:`SENTINEL`).

    Use :func:`score_network_detailed` to also learn which proxies failed.
    """
    return score_network_detailed(
        model, images, labels, proxies, num_classes=num_classes, ignore_index=ignore_index, avt=avt, device=device
    ).scores


def conv_linear_layers(model: nn.Module) -> list[nn.Module]:
    """Conv2d and Linear modules of ``model`` in module order."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0].strip() if lines else ""
