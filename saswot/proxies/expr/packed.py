"""Per-layer statistics (A, G, W) kept under a memory bound, packed for batched expression scoring.

Memory bound (documented in ``docs/proxy-search.md``): from each Conv2d/Linear layer of the
shared statistics pass (:func:`saswot.proxies._stats.collect_stats`) we keep

* ``W`` and ``G`` (shape ``O x I x kh x kw`` or ``O x I``): **all** output channels and kernel
  taps, but only a seeded subset of ``I' = min(I, max(1, W_CAP // (O*kh*kw)))`` input channels;
* ``A`` (``N x C x P``, P = positions already sampled by ``collect_stats``): all N samples, a
  seeded subset of ``C' = min(C, A_CHANNELS)`` channels and of ``P' <= A_CAP // (N*C')`` positions.

Each layer also stores its *sampling factor* ``s = full elements / kept elements`` so that
sum-type reductions (``sum`` op, ``frobenius``, the per-layer ``sum`` reduction) estimate the
full-tensor value; means and elementwise ops need no correction. Subsets depend only on the
layer index and shape (fixed seeds), so every architecture is sampled the same way. Tensors are
fp32 (fp16 would flush small gradients to zero). When nothing is subsampled (small layers) the
stored tensors are the exact statistics.

:class:`PackedStats` stacks the layers of many architectures that share the same per-layer
shapes into one tensor per input, so a candidate is scored for all architectures with a few
batched tensor ops per shape group (see :meth:`PackedStats.scores`); :func:`expression_value`
scores one network's statistics the same way. The on-disk cache of these statistics used by the
proxy search is :class:`saswot.search.statcache.StatCache`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from saswot.errors import ScoreError
from saswot.proxies.expr.expression import Expression
from saswot.proxies.expr.primitives import BINARY_OPS, UNARY_OPS, OpShapeError, Shape, reduce_layer

#: Max kept elements of W and G per layer (all output channels are always kept).
W_CAP = 2048
#: Max kept elements of A per layer.
A_CAP = 4096
#: Max kept channels of A per layer.
A_CHANNELS = 16


@dataclass(frozen=True)
class LayerTensors:
    """The kept statistics of one layer (see module doc)."""

    W: Tensor
    G: Tensor
    A: Tensor
    s_w: float
    s_a: float

    def shapes(self) -> dict[str, Shape]:
        """Per-input shapes."""
        return {"W": tuple(self.W.shape), "G": tuple(self.G.shape), "A": tuple(self.A.shape)}


@dataclass(frozen=True)
class ArchStats:
    """Kept statistics of one architecture plus its NWOT score (log|K_H|)."""

    key: str
    layers: tuple[LayerTensors, ...]
    nwot: float


def _subset(n: int, k: int, seed: int) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g)[:k].sort().values


def subsample_layer(
    weight: Tensor,
    grad: Tensor,
    act: Tensor,
    index: int,
    w_cap: int = W_CAP,
    a_cap: int = A_CAP,
    a_channels: int = A_CHANNELS,
) -> LayerTensors:
    """Apply the memory bound of the module doc to one layer (deterministic in index/shape)."""
    weight = weight.detach().float()
    grad = grad.detach().float()
    act = act.detach().float()
    s_w = 1.0
    if weight.dim() >= 2:
        o, i = weight.shape[0], weight.shape[1]
        per_in = o * math.prod(weight.shape[2:])
        keep = min(i, max(1, w_cap // per_in))
        if keep < i:
            idx = _subset(i, keep, 10_000 + index)
            weight, grad = weight[:, idx], grad[:, idx]
            s_w = i / keep
    s_a = 1.0
    if act.dim() >= 2:
        n, c = act.shape[0], act.shape[1]
        keep_c = min(c, a_channels)
        if keep_c < c:
            act = act[:, _subset(c, keep_c, 20_000 + index)]
            s_a *= c / keep_c
        if act.dim() == 3:
            p = act.shape[2]
            keep_p = min(p, max(1, a_cap // max(1, n * keep_c)))
            if keep_p < p:
                act = act[:, :, _subset(p, keep_p, 30_000 + index)]
                s_a *= p / keep_p
    return LayerTensors(W=weight.contiguous(), G=grad.contiguous(), A=act.contiguous(), s_w=s_w, s_a=s_a)


def arch_stats_from_netstats(key: str, stats: Any) -> ArchStats:
    """Build :class:`ArchStats` from a :class:`saswot.proxies._stats.NetStats`."""
    layers = tuple(subsample_layer(layer.weight, layer.grad, layer.act, i) for i, layer in enumerate(stats.layers))
    kernel = getattr(stats, "nwot_kernel", None)
    nwot = float(torch.linalg.slogdet(kernel.double()).logabsdet) if kernel is not None else float("nan")
    return ArchStats(key=key, layers=layers, nwot=nwot)


@dataclass
class _Group:
    shapes: dict[str, Shape]
    tensors: dict[str, Tensor]
    scales: dict[str, Tensor]
    arch_index: Tensor


class PackedStats:
    """Layers of many architectures grouped by per-layer shapes, for batched scoring."""

    def __init__(self, archs: Sequence[ArchStats]) -> None:
        self.keys = [a.key for a in archs]
        self.nwot = np.array([a.nwot for a in archs], dtype=np.float64)
        buckets: dict[tuple, list[tuple[int, LayerTensors]]] = {}
        counts = []
        for ai, arch in enumerate(archs):
            counts.append(len(arch.layers))
            for layer in arch.layers:
                sig = (tuple(layer.W.shape), tuple(layer.A.shape))
                buckets.setdefault(sig, []).append((ai, layer))
        self.layer_counts = torch.tensor(counts, dtype=torch.float64)
        self.groups: list[_Group] = []
        for sig in sorted(buckets):
            items = buckets[sig]
            ls = [l for _, l in items]
            sw = torch.tensor([l.s_w for l in ls], dtype=torch.float32)
            sa = torch.tensor([l.s_a for l in ls], dtype=torch.float32)
            self.groups.append(
                _Group(
                    shapes={"W": sig[0], "G": sig[0], "A": sig[1]},
                    tensors={
                        "W": torch.stack([l.W for l in ls]),
                        "G": torch.stack([l.G for l in ls]),
                        "A": torch.stack([l.A for l in ls]),
                    },
                    scales={"W": sw, "G": sw, "A": sa},
                    arch_index=torch.tensor([ai for ai, _ in items], dtype=torch.long),
                )
            )

    def __len__(self) -> int:
        return len(self.keys)

    def layer_shapes(self) -> list[dict[str, Shape]]:
        """Distinct per-layer input shapes (one entry per group), for legality checks."""
        return [g.shapes for g in self.groups]

    def nbytes(self) -> int:
        """Memory held by the packed tensors."""
        return sum(t.numel() * t.element_size() for g in self.groups for t in g.tensors.values())

    def scores(self, expr: Expression) -> np.ndarray:
        """Score of ``expr`` for every architecture (float64; may contain NaN/inf).

        The caller must have checked legality (:meth:`Expression.is_legal` on
        :meth:`layer_shapes`); illegal expressions raise inside torch.
        """
        total = torch.zeros(len(self.keys), dtype=torch.float64)
        with torch.no_grad():
            for g in self.groups:
                outs = []
                for b in range(2):
                    name = expr.inputs[b]
                    x, s = g.tensors[name], g.scales[name]
                    for op in expr.unary[b]:
                        x, s = UNARY_OPS[op].fn(x, s)
                    outs.append((x, s))
                z, s = BINARY_OPS[expr.binary].fn(outs[0][0], outs[0][1], outs[1][0], outs[1][1])
                per_layer = reduce_layer(z, s, expr.reduce).double()
                total.index_add_(0, g.arch_index, per_layer)
        if expr.aggregate == "mean":
            total = total / self.layer_counts
        return total.numpy()


def pack(archs: Iterable[ArchStats]) -> PackedStats:
    """Pack a sequence of :class:`ArchStats` (convenience wrapper)."""
    return PackedStats(list(archs))


def expression_value(expr: Expression, stats: Any) -> float:
    """Score of ``expr`` for one network's :class:`saswot.proxies._stats.NetStats`.

    The same per-layer subsampling as the search's statistics cache is applied, so values are
    comparable with those seen during the search.

    Raises:
        ScoreError: the expression cannot be applied to this network's layer shapes.
    """
    packed = PackedStats([arch_stats_from_netstats("net", stats)])
    for shapes in packed.layer_shapes():
        try:
            expr.output_shape(shapes)
        except OpShapeError as exc:
            raise ScoreError(
                f"proxy expression {expr} cannot be applied to this network ({exc}); "
                "it was discovered on other layer shapes -- use another proxy for this network"
            ) from exc
    return float(packed.scores(expr)[0])
