"""flops: MFLOPs at batch 1 and the batch's resolution (tensorwatch convention, via saswot.counting)."""

from __future__ import annotations

from saswot.proxies.registry import ProxyContext, register_proxy


@register_proxy("flops", needs_grad=False, needs_labels=False, description="MFLOPs at batch 1")
def flops(ctx: ProxyContext) -> float:
    """FLOPs of one forward at batch 1 / 1e6 (multiply-adds as tensorwatch counts them)."""
    return ctx.counts().flops / 1e6
