"""The proxy context: what a proxy may look at (network, batch, settings, shared statistics).

Proxies that can work from the shared statistics pass read ``ctx.stats`` (computed once, lazily,
for all of them, collecting exactly the statistics the context ``requires``); grasp continues
that pass's graph (one extra backward, no forward); proxies that need their own pass (synflow,
zen, ...) run it on the same private copy (``ctx.work_copy()``) through
``torch.func.functional_call`` with their own weights, so a network is deep-copied only once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from saswot.errors import ScoreError
from saswot.proxies._settings import ScoringSettings
from saswot.proxies._spec import REGISTRY, SHARED_PASS_STATS, Stat
from saswot.proxies._stats import NetStats, collect_stats, prepare_copy

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
            from saswot.utils.counting import count_model

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
