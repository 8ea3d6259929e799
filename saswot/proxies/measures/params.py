"""params: parameter count in millions (tensorwatch convention, via :mod:`saswot.utils.counting`)."""

from __future__ import annotations

from saswot.proxies._spec import ProxyContext, Stat, register_proxy


@register_proxy("params", requires={Stat.COUNTS}, description="parameters (M)")
def params(ctx: ProxyContext) -> float:
    """Parameters of the network / 1e6, counted at batch 1 and the batch's resolution."""
    return ctx.counts().params / 1e6
