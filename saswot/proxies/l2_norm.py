"""l2_norm: sum over conv/linear layers of ||W||_F (no data, no pass)."""

from __future__ import annotations

import torch

from saswot.proxies.registry import ProxyContext, conv_linear_layers, register_proxy


@register_proxy("l2_norm", needs_grad=False, needs_labels=False, description="sum_l ||W_l||_F")
def l2_norm(ctx: ProxyContext) -> float:
    """Sum over conv/linear layers of the Frobenius norm of the weight."""
    with torch.no_grad():
        return float(sum(m.weight.detach().norm(dtype=torch.float64) for m in conv_linear_layers(ctx.model)))
