"""Operations of TransNAS-Bench-101 cells and blocks.

All activations are ``nn.ReLU`` / ``nn.LeakyReLU`` modules and all convolutions ``nn.Conv2d``, so
hook-based statistics and the FLOP counter see every layer. None of the ops fuse or skip work:
the benchmark's parameter/FLOP counts charge every instantiated edge.
"""

from __future__ import annotations

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    """ReLU → Conv(k×k, no bias, 'same' padding) → BatchNorm (pre-activation unit of the encoder)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=True),
        )


class Zero(nn.Module):
    """The 'none' op: a zero tensor of the op's output shape.

    With stride 1 and equal channels it returns ``x * 0``; otherwise a fresh zero tensor of shape
    ``(N, c_out, ceil(H / stride), ceil(W / stride))``, so node sums stay well defined.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return zeros shaped like the op's output."""
        if self.stride == 1 and self.c_in == self.c_out:
            return x.mul(0.0)
        n, _, h, w = x.shape
        s = self.stride
        return x.new_zeros((n, self.c_out, (h + s - 1) // s, (w + s - 1) // s))

    def extra_repr(self) -> str:
        return f"{self.c_in}, {self.c_out}, stride={self.stride}"


class FactorizedReduce(nn.Module):
    """Skip connection for a reduction edge (stride 2, channels change).

    ReLU, then two parallel stride-2 1×1 convolutions producing ``c_out // 2`` and
    ``c_out - c_out // 2`` channels, the second on the input shifted by one pixel (zero-pad
    right/bottom by one, drop the first row and column); concatenation; BatchNorm.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        if stride != 2:
            raise ValueError(f"FactorizedReduce needs stride 2, got {stride}")
        half = c_out // 2
        self.relu = nn.ReLU(inplace=False)
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0.0)
        self.conv_1 = nn.Conv2d(c_in, half, 1, stride=stride, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - half, 1, stride=stride, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reduce resolution by 2 and change channels."""
        x = self.relu(x)
        shifted = self.pad(x)[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_micro_op(code: int, c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build the micro-cell edge op for TNB op ``code`` (0 none, 1 skip, 2 conv1x1, 3 conv3x3).

    Args:
        code: op code 0..3.
        c_in: input channels of the edge.
        c_out: output channels of the edge.
        stride: 1 or 2.
    """
    if code == 0:
        return Zero(c_in, c_out, stride)
    if code == 1:
        if stride == 1 and c_in == c_out:
            return nn.Identity()
        if stride == 1:
            return ReLUConvBN(c_in, c_out, 1, 1)
        return FactorizedReduce(c_in, c_out, stride)
    if code == 2:
        return ReLUConvBN(c_in, c_out, 1, stride)
    if code == 3:
        return ReLUConvBN(c_in, c_out, 3, stride)
    raise ValueError(f"unknown micro op code {code}")
