"""l2_norm: sum over conv/linear layers of ||W||_F (no data, no pass)."""

from __future__ import annotations

import math

import torch

from saswot.proxies._spec import ProxyContext, conv_linear_layers, register_proxy


@register_proxy("l2_norm", requires=(), description="sum_l ||W_l||_F")
def l2_norm(ctx: ProxyContext) -> float:
    """Sum over conv/linear layers of the Frobenius norm of the weight."""
    with torch.no_grad():
        weights = [m.weight.detach().float() for m in conv_linear_layers(ctx.model)]
        return math.fsum(math.sqrt(float((w * w).sum())) for w in weights)
