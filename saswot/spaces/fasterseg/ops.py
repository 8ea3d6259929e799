"""Building blocks of the FasterSeg search space.

All convolutions are bias-free 3×3 (or 1×1 in the head), followed by BatchNorm and ReLU.
No operator has a residual shortcut. Interpolations use bilinear resizing with
``align_corners=True`` and always resize to an exact size, so any input H×W works.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from saswot.errors import InvalidArchError
from saswot.spaces.fasterseg.grid import CELL_OPS, SCALES, num_filters


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


def _interp_matrix(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """The ``n_out × n_in`` matrix of 1-D linear interpolation with ``align_corners=True``."""
    a = torch.zeros(n_out, n_in, dtype=torch.float64)
    if n_in == 1 or n_out == 1:
        # align_corners=True maps a single output sample to input 0, and spreads one input everywhere
        a[:, 0] = 1.0
    else:
        pos = torch.arange(n_out, dtype=torch.float64) * ((n_in - 1) / (n_out - 1))
        lo = pos.floor().long().clamp(max=n_in - 2)
        frac = pos - lo
        rows = torch.arange(n_out)
        a[rows, lo] = 1.0 - frac
        a[rows, lo + 1] += frac
    return a.to(dtype=like.dtype, device=like.device)


def resize_matmul(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (``align_corners=True``) of N×C×H×W ``x`` to ``size`` as two matrix products.

    The same values as ``F.interpolate(x, size, mode="bilinear", align_corners=True)`` up to float
    rounding (a few 1e-6 on unit-scale inputs), but forward + backward run as matrix products: on
    one CPU thread, upsampling a batch of 8 eleven-class logits from 18×24 to 144×192 and back took
    about 5 ms instead of 21 ms. The training-mode forward of a training build uses it for the
    heads' upsampling (see :class:`~saswot.spaces.fasterseg.builder.FasterSegNet`).
    """
    a_h = _interp_matrix(int(x.shape[-2]), int(size[0]), x)
    a_w = _interp_matrix(int(x.shape[-1]), int(size[1]), x)
    return torch.matmul(torch.matmul(a_h, x), a_w.transpose(0, 1))


class ConvNorm(nn.Sequential):
    """Conv (no bias) → BN → ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=False),
        )


class Conv(nn.Module):
    """``conv``: 3×3 conv–BN–ReLU (stride 2 for a down cell)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = ConvNorm(c_in, c_out, 3, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Conv2x(nn.Module):
    """``conv_2x``: two 3×3 conv–BN–ReLU (the first strided for a down cell)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvNorm(c_in, c_out, 3, stride), ConvNorm(c_out, c_out, 3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ZoomedConv(nn.Module):
    """``conv_downup`` / ``conv_2x_downup``: resize to half, 1 or 2 convs, resize back.

    Stride 2: the input is resized to half size and not resized back.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, double: bool) -> None:
        super().__init__()
        self.stride = stride
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)]
        if double:
            layers += [nn.ReLU(inplace=False), nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.body = nn.Sequential(*layers)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = self.body(_resize(x, (max(1, h // 2), max(1, w // 2))))
        if self.stride == 1:
            y = _resize(y, (h, w))
        return self.relu(y)


def make_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """Instantiate a cell operator by name (``skip`` is not a cell op of a decoded network)."""
    if name == "conv":
        return Conv(c_in, c_out, stride)
    if name == "conv_2x":
        return Conv2x(c_in, c_out, stride)
    if name == "conv_downup":
        return ZoomedConv(c_in, c_out, stride, double=False)
    if name == "conv_2x_downup":
        return ZoomedConv(c_in, c_out, stride, double=True)

    raise InvalidArchError(f"unknown cell operator '{name}'; expected one of {', '.join(CELL_OPS)}")


class Stem(nn.Module):
    """3×3/2 ConvNorm, then two stride-2 conv×2 blocks: 1/2 → 1/4 → 1/8."""

    def __init__(self, stem_chi: int) -> None:
        super().__init__()
        c2, c4, c8 = 2 * num_filters(2, stem_chi), 2 * num_filters(4, stem_chi), num_filters(8, stem_chi)
        self.out_channels = c8
        self.conv1 = ConvNorm(3, c2, 3, 2)
        self.block2 = Conv2x(c2, c4, 2)
        self.block3 = Conv2x(c4, c8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block3(self.block2(self.conv1(x)))


class SegHead(nn.Module):
    """3×3 ConvNorm (mid = in if in ≤ 256 else in/2) → 1×1 conv with bias → classes."""

    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        mid = c_in if c_in <= 256 else c_in // 2
        self.conv = ConvNorm(c_in, mid, 3, 1)
        self.cls = nn.Conv2d(mid, num_classes, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls(self.conv(x))


class BranchRefine(nn.Module):
    """Aggregation of one branch down to 1/8 (arm 1×1 → up → concat skip → 3×3 refine)."""

    def __init__(self, last: int, head_chi: int, skip_channels: dict[int, int]) -> None:
        super().__init__()
        self.last = last
        arms: list[nn.Module] = []
        refines: list[nn.Module] = []
        # from scale index `last` down to 1: arm at scale j (C→nf(j-1)), refine at j-1.
        c = num_filters(SCALES[last], head_chi)
        for j in range(last, 0, -1):
            c_low = num_filters(SCALES[j - 1], head_chi)
            arms.append(ConvNorm(c, c_low, 1, 1))
            refines.append(ConvNorm(c_low + skip_channels[j - 1], c_low, 3, 1))
            c = c_low
        self.arms = nn.ModuleList(arms)
        self.refines = nn.ModuleList(refines)

    def forward(self, out: torch.Tensor, skips: dict[int, torch.Tensor]) -> torch.Tensor:
        """``skips[j]`` = the branch's last feature at scale j (input of its down cell)."""
        x = out
        for step, (arm, refine) in enumerate(zip(self.arms, self.refines)):
            j = self.last - 1 - step
            skip = skips[j]
            x = _resize(arm(x), (int(skip.shape[-2]), int(skip.shape[-1])))
            x = refine(torch.cat([x, skip], dim=1))
        return x
