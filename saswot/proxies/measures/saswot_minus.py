"""saswot_minus: the searched SasWOT- proxy (paper Eq. 2) and its readings.

Eq. 2 scores a network by ``sum over conv/linear layers l of (softmax(W_l) < ReLU(dL/dW_l))``
and leaves four choices open. A :class:`Reading` fixes them:

* ``axis``: the axis of the softmax over the weight tensor W (O x I x kh x kw for a conv, O x I
  for a linear layer): ``dim0`` (over the O output channels, so each (i, u, v) column sums to 1),
  ``dim1`` (over the I input channels), ``last`` (over the last dim: kw for a conv, I for a
  linear layer), ``flat`` (over the whole flattened tensor) or ``filter`` (over each output
  channel's filter I x kh x kw, i.e. over W reshaped to O x (I*kh*kw) along dim 1).
* ``loss``: the reduction of the pixel-wise cross entropy behind dL/dW: ``mean`` over the valid
  (non-ignored) pixels, as the statistics pass computes it, or ``sum`` over them. The sum-reduced
  gradient is the mean-reduced one times the number of valid pixels, so it is obtained from the
  same pass by that scaling (equal up to float32 rounding).
* ``per_layer``: the reduction of the 0/1 indicator in a layer: ``count`` (number of elements
  where it holds) or ``fraction`` (that count over the number of elements of W).
* ``over_layers``: ``sum`` or ``mean`` of the per-layer values over the conv/linear layers.

Since the softmax is positive, ``softmax(W) < ReLU(G)`` holds exactly where ``softmax(W) < G``
(a NaN compares false either way).

Registered proxies:

* ``saswot_minus``: :data:`PAPER_READING`, the reading whose Kendall tau on the TransNAS-Bench-101
  development architectures is jointly closest to the paper's Table 3 (micro and macro);
  ``benchmarks/saswot_readings.py`` is the study that chose it, ``docs/proxies.md`` its record.
* ``saswot_minus_v1``: :data:`V1_READING`, the reading saswot used before that study (softmax
  over dim 0, mean-reduced loss, count, summed over layers); a variant, not the paper's.

Every other reading of the grid is a variant reachable with :func:`saswot_minus_variant`
(``saswot_minus_variant("dim1/sum/fraction/mean")`` gives a :class:`ProxySpec` that
``score_network`` and ``saswot.workflows.score.score_architectures`` accept).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from saswot.errors import UnknownNameError
from saswot.proxies._spec import ProxyContext, ProxySpec, Stat, register_proxy
from saswot.proxies._stats import LayerStats

#: Softmax axes of the grid (see the module doc).
AXES = ("dim0", "dim1", "last", "flat", "filter")
#: Loss reductions behind dL/dW.
LOSSES = ("mean", "sum")
#: Per-layer reductions of the indicator.
PER_LAYER = ("count", "fraction")
#: Aggregations over layers.
OVER_LAYERS = ("sum", "mean")


@dataclass(frozen=True)
class Reading:
    """One reading of Eq. 2: softmax axis, loss reduction, per-layer reduction, layer aggregation."""

    axis: str
    loss: str
    per_layer: str
    over_layers: str

    def __post_init__(self) -> None:
        for value, allowed, what in (
            (self.axis, AXES, "axis"),
            (self.loss, LOSSES, "loss"),
            (self.per_layer, PER_LAYER, "per_layer"),
            (self.over_layers, OVER_LAYERS, "over_layers"),
        ):
            if value not in allowed:
                raise UnknownNameError(f"unknown SasWOT- {what} '{value}'; use one of: {', '.join(allowed)}")

    @property
    def key(self) -> str:
        """Canonical string ``axis/loss/per_layer/over_layers``; :meth:`parse` reads it back."""
        return f"{self.axis}/{self.loss}/{self.per_layer}/{self.over_layers}"

    @classmethod
    def parse(cls, text: str) -> Reading:
        """Inverse of :attr:`key` (e.g. ``"dim0/mean/count/sum"``)."""
        parts = [p.strip() for p in text.split("/")]
        if len(parts) != 4:
            raise UnknownNameError(
                f"bad SasWOT- reading '{text}': give axis/loss/per_layer/over_layers, e.g. dim0/mean/count/sum"
            )
        return cls(*parts)

    @property
    def complexity(self) -> int:
        """Number of steps beyond the plainest reading (used to prefer the simpler of two readings
        within sampling noise): a sum-reduced loss (one rescaling), a fraction (one division per
        layer), a mean over layers (one division), a softmax over a reshaped tensor (flat, filter)."""
        return (
            int(self.loss == "sum")
            + int(self.per_layer == "fraction")
            + int(self.over_layers == "mean")
            + int(self.axis in ("flat", "filter"))
        )


#: The reading ``saswot_minus`` uses, chosen by ``benchmarks/saswot_readings.py``: softmax over each
#: output channel's filter, mean-reduced loss, count per layer, summed over layers.
PAPER_READING = Reading("filter", "mean", "count", "sum")
#: The reading saswot used before the study (registered as ``saswot_minus_v1``).
V1_READING = Reading("dim0", "mean", "count", "sum")


def all_readings() -> list[Reading]:
    """Every reading of the grid AXES x LOSSES x PER_LAYER x OVER_LAYERS (40), in that order."""
    return [Reading(*combo) for combo in itertools.product(AXES, LOSSES, PER_LAYER, OVER_LAYERS)]


def weight_softmax(weight: Tensor, axis: str) -> Tensor:
    """softmax of ``weight`` (fp32) along ``axis`` (see the module doc), same shape as ``weight``."""
    w = weight.float()
    if axis == "dim0":
        return torch.softmax(w, dim=0)
    if axis == "dim1":
        return torch.softmax(w, dim=1 if w.dim() > 1 else 0)
    if axis == "last":
        return torch.softmax(w, dim=-1)
    if axis == "flat":
        return torch.softmax(w.reshape(-1), dim=0).reshape(w.shape)
    if axis == "filter":
        return torch.softmax(w.reshape(w.shape[0], -1), dim=1).reshape(w.shape)
    raise UnknownNameError(f"unknown SasWOT- axis '{axis}'; use one of: {', '.join(AXES)}")


def valid_pixels(labels: Tensor, ignore_index: int = 255) -> int:
    """Number of labels that enter the loss (not ``ignore_index``): the factor between the sum-
    and the mean-reduced cross entropy."""
    return int(torch.count_nonzero(labels != ignore_index))


def layer_count(weight: Tensor, grad: Tensor, axis: str = "dim0", scale: float = 1.0) -> int:
    """Number of elements of one layer where ``softmax(W, axis) < ReLU(scale * G)``.

    ``scale`` is 1 for the mean-reduced loss and the number of valid pixels for the sum-reduced one.
    """
    return int(torch.count_nonzero(weight_softmax(weight, axis) < grad.float() * scale))


def saswot_minus_count(weight: Tensor, grad: Tensor) -> int:
    """Count of elements with softmax(W, dim=0) < relu(G) for one layer (the per-layer term of
    ``saswot_minus_v1``, equal to the proxy-search genome ``softmax(W) < relu(G)``)."""
    return layer_count(weight, grad, "dim0", 1.0)


def aggregate(counts: Sequence[int], numels: Sequence[int], per_layer: str, over_layers: str) -> float:
    """Combine per-layer indicator counts into one score (per-layer reduction, then over layers).

    An empty layer list gives 0.0.
    """
    if per_layer not in PER_LAYER or over_layers not in OVER_LAYERS:
        raise UnknownNameError(f"bad SasWOT- reduction '{per_layer}'/'{over_layers}'")
    values = [c / n if per_layer == "fraction" else float(c) for c, n in zip(counts, numels)]
    if not values:
        return 0.0
    total = float(sum(values))
    return total / len(values) if over_layers == "mean" else total


def count_table(layers: Sequence[LayerStats], n_valid: int, pairs: Sequence[str] | None = None) -> dict[str, list[int]]:
    """Per-layer counts for every (axis, loss) pair, ``{"axis/loss": [count per layer]}``.

    With :func:`aggregate` and the layers' element counts this gives every reading of the grid
    from one statistics pass (the study in ``benchmarks/saswot_readings.py`` uses it).
    ``pairs`` (e.g. ``["dim1/sum"]``) restricts the table to those pairs (default: all 10).
    """
    keys = list(pairs) if pairs is not None else [f"{a}/{lo}" for a in AXES for lo in LOSSES]
    out: dict[str, list[int]] = {k: [] for k in keys}
    for layer in layers:
        g = layer.grad.float()
        scaled = {"mean": g, "sum": g * float(n_valid)}
        for axis in AXES:
            wanted = [lo for lo in LOSSES if f"{axis}/{lo}" in out]
            if not wanted:
                continue
            soft = weight_softmax(layer.weight, axis)
            for loss in wanted:
                out[f"{axis}/{loss}"].append(int(torch.count_nonzero(soft < scaled[loss])))
    return out


def reading_value(layers: Sequence[LayerStats], n_valid: int, reading: Reading) -> float:
    """SasWOT- under ``reading`` from the layers of one statistics pass (mean-reduced gradients)
    and the number of valid pixels of its batch."""
    scale = float(n_valid) if reading.loss == "sum" else 1.0
    counts = [layer_count(layer.weight, layer.grad, reading.axis, scale) for layer in layers]
    numels = [layer.weight.numel() for layer in layers]
    return aggregate(counts, numels, reading.per_layer, reading.over_layers)


def _context_value(ctx: ProxyContext, reading: Reading) -> float:
    return reading_value(ctx.stats.layers, valid_pixels(ctx.labels, ctx.ignore_index), reading)


def saswot_minus_variant(reading: str | Reading) -> ProxySpec:
    """An unregistered :class:`ProxySpec` scoring SasWOT- under ``reading`` (a :class:`Reading` or
    its key, e.g. ``"flat/sum/fraction/mean"``), named ``saswot_minus[<key>]``."""
    r = Reading.parse(reading) if isinstance(reading, str) else reading
    return ProxySpec(
        name=f"saswot_minus[{r.key}]",
        fn=lambda ctx: _context_value(ctx, r),
        requires=frozenset({Stat.LAYERS}),
        description=f"SasWOT- variant {r.key} (sum_l #[softmax(W_l) < ReLU(dL/dW_l)], see saswot.proxies.measures.saswot_minus)",
        cache_id=f"saswot_minus[{r.key}]",
    )


@register_proxy(
    "saswot_minus",
    requires={Stat.LAYERS},
    description=f"paper Eq. 2, reading {PAPER_READING.key} (axis/loss/per-layer/over-layers)",
    cache_id=f"saswot_minus@2[{PAPER_READING.key}]",
)
def saswot_minus(ctx: ProxyContext) -> float:
    """Paper Eq. 2 under :data:`PAPER_READING` on the shared statistics."""
    return _context_value(ctx, PAPER_READING)


@register_proxy(
    "saswot_minus_v1",
    requires={Stat.LAYERS},
    description="variant (saswot before the reading study): sum_l #[softmax(W_l, dim 0) < ReLU(dL/dW_l)], mean-reduced loss",
    cache_id="saswot_minus",
)
def saswot_minus_v1(ctx: ProxyContext) -> float:
    """SasWOT- under :data:`V1_READING` (previous default; its cache id keeps the old scores valid)."""
    return _context_value(ctx, V1_READING)
