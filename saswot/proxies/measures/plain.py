"""plain: sum over conv/linear layers of W * dL/dW (signed, no absolute value)."""

from __future__ import annotations

import math

from saswot.proxies._spec import ProxyContext, Stat, register_proxy


@register_proxy("plain", requires={Stat.LAYERS}, description="sum_l sum W_l * dL/dW_l (signed)")
def plain(ctx: ProxyContext) -> float:
    """Sum over layers and elements of W * dL/dW."""
    return math.fsum(float((layer.weight * layer.grad).sum()) for layer in ctx.stats.layers)
