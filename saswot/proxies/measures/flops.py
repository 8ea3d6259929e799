"""flops: MFLOPs at batch 1 and the batch's resolution (tensorwatch convention, via saswot.utils.counting)."""

from __future__ import annotations

from saswot.proxies._spec import ProxyContext, Stat, register_proxy


@register_proxy("flops", requires={Stat.COUNTS}, description="MFLOPs at batch 1")
def flops(ctx: ProxyContext) -> float:
    """FLOPs of one forward at batch 1 / 1e6 (multiply-adds as tensorwatch counts them)."""
    return ctx.counts().flops / 1e6
