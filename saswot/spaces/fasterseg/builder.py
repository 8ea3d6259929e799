"""Build an ``nn.Module`` from a decoded :class:`FasterSegArch`."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from saswot.runtime.seeding import torch_seed
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.grid import SCALES, num_filters
from saswot.spaces.fasterseg.ops import BranchRefine, ConvNorm, SegHead, Stem, make_op, resize_matmul
from saswot.utils.nn_init import kaiming_init_


def _init_weights(module: nn.Module) -> None:
    """Kaiming-normal (fan_in, relu) convs, BN weight 1 / bias 0 (FasterSeg's init)."""
    kaiming_init_(module, mode="fan_in")


class FasterSegNet(nn.Module):
    """Stem → shared cells → per-branch cells → per-branch aggregation → FFM → head.

    ``forward(x)`` returns logits N×classes×H×W (exact input size). With ``aux_heads=True`` and
    in training mode it returns ``(main, aux32, aux16)``, all at H×W; that forward (and only it:
    the search's scoring, evaluation and export keep ``F.interpolate``) upsamples the three heads'
    logits with :func:`~saswot.spaces.fasterseg.ops.resize_matmul`, the same function computed as
    matrix products, whose backward is several times faster on the CPU.
    """

    def __init__(self, arch: FasterSegArch, num_classes: int = 19, aux_heads: bool = False) -> None:
        super().__init__()
        self.arch = arch
        self.num_classes = num_classes
        hw = arch.head_width
        self.stem = Stem(arch.stem_width)
        cells = arch.branch_cells()
        self.n_shared = arch.shared_prefix()
        shared = cells[0][: self.n_shared]
        self.shared = nn.ModuleList(make_op(c.op, c.c_in, c.c_out, c.stride) for c in shared)
        self._shared_down = [c.stride == 2 for c in shared]
        self._shared_scale = [c.scale_in for c in shared]
        self.branches = nn.ModuleList()
        self._branch_meta: list[list[tuple[int, bool]]] = []
        self.refines = nn.ModuleList()
        for b, bc in zip(arch.branches, cells):
            rest = bc[self.n_shared :]
            self.branches.append(nn.ModuleList(make_op(c.op, c.c_in, c.c_out, c.stride) for c in rest))
            self._branch_meta.append([(c.scale_in, c.stride == 2) for c in rest])
            self.refines.append(BranchRefine(b.last, hw, b.skip_channels(arch.stem_width, hw)))
        c8 = num_filters(SCALES[0], hw)
        c_ffm = c8 * len(arch.branches)
        self.ffm = ConvNorm(c_ffm, c_ffm, 1, 1)
        self.head = SegHead(c_ffm, num_classes)
        self.aux_heads = aux_heads
        self.head32: SegHead | None = None
        self.head16: SegHead | None = None
        if aux_heads:
            hi = max(range(len(arch.branches)), key=lambda k: arch.branches[k].last)
            b_hi = arch.branches[hi]
            self._aux_hi = hi
            self.head32 = SegHead(num_filters(SCALES[b_hi.last], hw), num_classes)
            skips = b_hi.skip_channels(arch.stem_width, hw)
            c16 = skips.get(1, 0)
            self._aux16_from = [k for k, b in enumerate(arch.branches) if b.last == 1]
            c16 += sum(num_filters(SCALES[1], hw) for _ in self._aux16_from)
            self.head16 = SegHead(c16, num_classes) if c16 > 0 else None
        _init_weights(self)

    @staticmethod
    def _run(
        ops: nn.ModuleList, meta: list[tuple[int, bool]], x: torch.Tensor, skips: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        for op, (scale_in, down) in zip(ops, meta):
            if down:
                skips[scale_in] = x
            x = op(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        size = (int(x.shape[-2]), int(x.shape[-1]))
        feat = self.stem(x)
        shared_skips: dict[int, torch.Tensor] = {}
        feat = self._run(self.shared, list(zip(self._shared_scale, self._shared_down)), feat, shared_skips)
        outs: list[torch.Tensor] = []
        lows: list[torch.Tensor] = []
        branch_skips: list[dict[int, torch.Tensor]] = []
        for ops, meta, refine in zip(self.branches, self._branch_meta, self.refines):
            skips = dict(shared_skips)
            out = self._run(cast(nn.ModuleList, ops), meta, feat, skips)  # branches holds ModuleLists
            outs.append(out)
            branch_skips.append(skips)
            lows.append(refine(out, skips))
        fused = self.ffm(torch.cat(lows, dim=1))
        if not (self.aux_heads and self.training):
            return F.interpolate(self.head(fused), size=size, mode="bilinear", align_corners=True)
        logits = resize_matmul(self.head(fused), size)
        assert self.head32 is not None
        hi = self._aux_hi
        a32 = resize_matmul(self.head32(outs[hi]), size)
        if self.head16 is None:
            return logits, a32, a32
        parts = [branch_skips[hi][1]] if 1 in branch_skips[hi] else []
        for k in self._aux16_from:
            parts.append(
                F.interpolate(outs[k], size=tuple(parts[0].shape[-2:]), mode="bilinear", align_corners=True)
                if parts
                else outs[k]
            )
        a16 = resize_matmul(self.head16(torch.cat(parts, dim=1)), size)
        return logits, a32, a16


def build_network(
    arch: FasterSegArch, num_classes: int = 19, aux_heads: bool = False, seed: int | None = None
) -> FasterSegNet:
    """Build the network of ``arch``.

    Args:
        arch: a decoded architecture (e.g. ``load_arch("fasterseg")``).
        num_classes: output channels of the logits.
        aux_heads: also build the training-only 1/32 and 1/16 auxiliary heads.
        seed: if given, weights are initialised from this seed (caller's RNG untouched).

    Returns:
        A :class:`FasterSegNet`; input N×3×H×W (any H, W), output N×classes×H×W.
    """
    if seed is None:
        return FasterSegNet(arch, num_classes, aux_heads)
    with torch_seed(seed):
        return FasterSegNet(arch, num_classes, aux_heads)
