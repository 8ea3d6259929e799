"""Tiny segmentation networks shared by the proxy/stats/rank tests (not a test module)."""

from __future__ import annotations

import torch
from torch import nn


class TinySeg(nn.Module):
    """conv-BN-ReLU, strided conv-BN-LeakyReLU, 1x1 classifier; logits at half resolution."""

    def __init__(self, width: int = 6, num_classes: int = 5, aux: bool = False) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(width)
        self.r1 = nn.ReLU()
        self.c2 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.b2 = nn.BatchNorm2d(width)
        self.r2 = nn.LeakyReLU(0.2)
        self.drop = nn.Dropout(0.5)
        self.classifier = nn.Conv2d(width, num_classes, 1)
        self.aux = aux

    def forward(self, x: torch.Tensor):  # noqa: D102
        f = self.drop(self.r2(self.b2(self.c2(self.r1(self.b1(self.c1(x)))))))
        out = self.classifier(f)
        return (out, f.mean()) if self.aux else out


def tiny_batch(n: int = 4, size: int = 8, num_classes: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian images and labels with a few ignored pixels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g)
    y = torch.randint(0, num_classes, (n, size, size), generator=g)
    y[:, 0, 0] = 255
    return x, y


def tiny_model(seed: int = 0, **kw) -> TinySeg:
    """A TinySeg with deterministic init."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return TinySeg(**kw)
