"""grad_norm: sum over conv/linear layers of the Frobenius norm of dL/dW (ZC/NASLib definition)."""

from __future__ import annotations

import math

from saswot.proxies._spec import ProxyContext, Stat, register_proxy


@register_proxy("grad_norm", requires={Stat.LAYERS}, description="sum_l ||dL/dW_l||_F")
def grad_norm(ctx: ProxyContext) -> float:
    """Sum over layers of ||dL/dW||_F (norm per layer, not squared)."""
    return math.fsum(math.sqrt(float((layer.grad * layer.grad).sum())) for layer in ctx.stats.layers)
