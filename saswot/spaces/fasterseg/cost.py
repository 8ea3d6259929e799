"""Parameter and MAC counts of decoded FasterSeg networks, from one list of *components*.

:func:`components` walks a decoded network (stem, cells with shared cells once, per-branch
aggregation ConvNorms, FFM, head) and returns each costed piece with its exact input size at a
given resolution. MACs and parameters (:func:`arch_cost`) and the latency estimate
(:mod:`saswot.spaces.fasterseg.latency`) are sums over the same list, so they cannot drift apart.

MACs: every convolution contributes ``out_pixels · C_out · C_in · k_h · k_w``
multiply-accumulates (BN, ReLU, interpolation and concatenation are not counted). Parameters
are those of the inference modules (aux heads excluded). :func:`count_conv_macs` counts the
convs of any module with forward hooks on the meta device (slow but independent; the tests check
that both agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.builder import FasterSegNet
from saswot.spaces.fasterseg.grid import SCALES, num_filters
from saswot.spaces.fasterseg.ops import ConvNorm, SegHead, make_op


@dataclass(frozen=True)
class ArchCost:
    """Inference parameters (millions) and GMACs at a resolution."""

    params_m: float
    gmacs: float
    resolution: tuple[int, int]


@dataclass(frozen=True)
class Component:
    """One costed piece of a network.

    Attributes:
        kind: ``"convnorm"`` (conv–BN–ReLU, kernel ``k``), ``"op"`` (a cell operator ``op``, also
            the stem's conv×2 blocks) or ``"head"`` (3×3 ConvNorm + 1×1 classifier).
        part: ``"stem"``, ``"cells"`` or ``"head"`` (for the breakdown).
        op: operator name for ``"op"``; empty otherwise.
        c_in, c_out: channels.
        k: kernel size (convnorm) — 3 otherwise.
        stride: 1 or 2.
        in_hw: input height and width.
    """

    kind: str
    part: str
    op: str
    c_in: int
    c_out: int
    k: int
    stride: int
    in_hw: tuple[int, int]

    @property
    def key(self) -> str:
        """Lookup-table key (everything that changes the cost)."""
        name = self.op if self.kind == "op" else f"{self.kind}{self.k}"
        return f"{name}_H{self.in_hw[0]}_W{self.in_hw[1]}_Cin{self.c_in}_Cout{self.c_out}_s{self.stride}"

    def out_hw(self) -> tuple[int, int]:
        """Output size."""
        h, w = self.in_hw
        if self.stride == 1:
            return self.in_hw
        if self.op in ("conv_downup", "conv_2x_downup"):
            return (max(1, h // 2), max(1, w // 2))
        return (_half_conv(h), _half_conv(w))

    def module(self) -> nn.Module:
        """A freshly initialised module computing this component."""
        if self.kind == "convnorm":
            return ConvNorm(self.c_in, self.c_out, self.k, self.stride)
        if self.kind == "head":
            return SegHead(self.c_in, self.c_out)
        return make_op(self.op, self.c_in, self.c_out, self.stride)

    def macs_params(self) -> tuple[int, int]:
        """(MACs, parameters) of this component."""
        out = self.out_hw()
        px = out[0] * out[1]
        if self.kind == "convnorm":
            return px * self.c_in * self.c_out * self.k**2, self.c_in * self.c_out * self.k**2 + 2 * self.c_out
        if self.kind == "head":
            mid = self.c_in if self.c_in <= 256 else self.c_in // 2
            p = self.c_in * mid * 9 + 2 * mid + mid * self.c_out + self.c_out
            return px * (self.c_in * mid * 9 + mid * self.c_out), p
        if self.op in ("conv_downup", "conv_2x_downup"):
            h, w = self.in_hw
            px = max(1, h // 2) * max(1, w // 2)
        p = self.c_in * self.c_out * 9 + 2 * self.c_out
        if self.op in ("conv_2x", "conv_2x_downup"):
            p += self.c_out * self.c_out * 9 + 2 * self.c_out
            return px * (self.c_in + self.c_out) * self.c_out * 9, p
        return px * self.c_in * self.c_out * 9, p


def _half_conv(n: int) -> int:
    """Output length of a 3×3/2 conv with padding 1."""
    return (n - 1) // 2 + 1


def components(arch: FasterSegArch, resolution: tuple[int, int], num_classes: int = 19) -> list[Component]:
    """Every costed piece of ``arch`` at input ``resolution`` (shared cells listed once).

    Order: stem (3), cells, per-branch aggregation ConvNorms, FFM, head (FasterSeg's order).
    """
    sw, hw = arch.stem_width, arch.head_width
    c2, c4, c8 = 2 * num_filters(2, sw), 2 * num_filters(4, sw), num_filters(8, sw)
    res = (int(resolution[0]), int(resolution[1]))
    out: list[Component] = [Component("convnorm", "stem", "", 3, c2, 3, 2, res)]
    s2 = out[0].out_hw()
    out.append(Component("op", "stem", "conv_2x", c2, c4, 3, 2, s2))
    s4 = out[1].out_hw()
    out.append(Component("op", "stem", "conv_2x", c4, c8, 3, 2, s4))
    s8 = out[2].out_hw()
    shared = arch.shared_prefix()
    for k, (b, bc) in enumerate(zip(arch.branches, arch.branch_cells())):
        size = s8
        skip_sizes: dict[int, tuple[int, int]] = {}
        for i, cell in enumerate(bc):
            comp = Component("op", "cells", cell.op, cell.c_in, cell.c_out, 3, cell.stride, size)
            if cell.stride == 2:
                skip_sizes[cell.scale_in] = size
            if k == 0 or i >= shared:
                out.append(comp)
            size = comp.out_hw()
        skip_ch = b.skip_channels(sw, hw)
        c = num_filters(SCALES[b.last], hw)
        for j in range(b.last, 0, -1):
            c_low = num_filters(SCALES[j - 1], hw)
            out.append(Component("convnorm", "head", "", c, c_low, 1, 1, size))
            size = skip_sizes[j - 1]
            out.append(Component("convnorm", "head", "", c_low + skip_ch[j - 1], c_low, 3, 1, size))
            c = c_low
    c_ffm = num_filters(SCALES[0], hw) * len(arch.branches)
    out.append(Component("convnorm", "head", "", c_ffm, c_ffm, 1, 1, s8))
    out.append(Component("head", "head", "", c_ffm, num_classes, 3, 1, s8))
    return out


def arch_cost(arch: FasterSegArch, resolution: tuple[int, int] = (1024, 2048), num_classes: int = 19) -> ArchCost:
    """Params (M) and GMACs of ``arch`` at ``resolution`` (batch 1), computed analytically."""
    macs = params = 0
    for comp in components(arch, resolution, num_classes):
        m, p = comp.macs_params()
        macs += m
        params += p
    return ArchCost(params_m=params / 1e6, gmacs=macs / 1e9, resolution=(int(resolution[0]), int(resolution[1])))


def count_params(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def count_conv_macs(module: nn.Module, resolution: tuple[int, int], batch: int = 1) -> int:
    """Conv MACs of one forward pass of a meta-device ``module`` (hooks on every ``nn.Conv2d``)."""
    total = 0

    def hook(m: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(m, nn.Conv2d)
        kh, kw = m.kernel_size
        total += out.numel() * (m.in_channels // m.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            module(torch.empty(batch, 3, *resolution, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return total


def meta_network(arch: FasterSegArch, num_classes: int = 19) -> FasterSegNet:
    """The network of ``arch`` with meta-device weights (cheap to build)."""
    with torch.device("meta"):
        net = FasterSegNet(arch, num_classes, aux_heads=False)
    return net.eval()
