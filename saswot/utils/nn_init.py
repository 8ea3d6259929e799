"""Weight initialisation shared by the network builders."""

from __future__ import annotations

from typing import Literal

from torch import nn


def kaiming_init_(module: nn.Module, mode: Literal["fan_in", "fan_out"] = "fan_out") -> None:
    """Kaiming-normal (ReLU gain) for every Conv2d in ``module``, zero conv biases, BN weight 1 / bias 0.

    Args:
        module: the module whose sub-modules are initialised in place.
        mode: ``"fan_out"`` (TransNAS-Bench-101 encoder) or ``"fan_in"`` (FasterSeg).
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
