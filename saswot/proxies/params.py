"""params: parameter count in millions (tensorwatch convention, via :mod:`saswot.counting`)."""

from __future__ import annotations

from saswot.proxies.registry import ProxyContext, register_proxy


@register_proxy("params", needs_grad=False, needs_labels=False, description="parameters (M)")
def params(ctx: ProxyContext) -> float:
    """Parameters of the network / 1e6, counted at batch 1 and the batch's resolution."""
    return ctx.counts().params / 1e6
