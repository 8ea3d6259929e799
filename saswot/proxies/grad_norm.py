"""grad_norm: sum over conv/linear layers of the Frobenius norm of dL/dW (ZC/NASLib definition)."""

from __future__ import annotations

import torch

from saswot.proxies.registry import ProxyContext, register_proxy


@register_proxy("grad_norm", description="sum_l ||dL/dW_l||_F")
def grad_norm(ctx: ProxyContext) -> float:
    """Sum over layers of ||dL/dW||_F (norm per layer, not squared)."""
    return float(sum(layer.grad.norm(dtype=torch.float64) for layer in ctx.stats.layers))
