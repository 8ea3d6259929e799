"""synflow: log of the synaptic-flow score (Tanaka et al. 2020; ZC with NASLib's log transform).

On a copy: BatchNorm removed (replaced by identity), every parameter and buffer -> |.|;
input = all-ones 1 x C x H x W (the batch's resolution); R = sum of the main output;
score = log(sum_l sum |W_l * dR/dW_l|). The raw product overflows float32 (values of 1e30-1e60
are common), so the proxy returns its natural log; a raw value of 0 gives -inf -> sentinel.
Precision: the pass runs in float32 (float64 convolutions are several times slower on CPU); if
any output is non-finite or the raw sum exceeds 1e30 it is redone in float64 (ZC's precision).
Gradients of |W| products are all non-negative, so float32 loses only relative precision
(~1e-7), which does not change rankings in practice.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from saswot.proxies.registry import ProxyContext, register_proxy
from saswot.stats import main_output, prepare_copy


#: Above this raw value (or on inf/NaN) the float32 pass is redone in float64.
FP32_SAFE = 1e30


def _strip_bn(net: nn.Module) -> None:
    for name, child in list(net.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(net, name, nn.Identity())
        else:
            _strip_bn(child)


@register_proxy(
    "synflow", needs_labels=False, bn=False, own_pass=True, description="log sum_l |W_l * dR/dW_l| (BN off, fp64)"
)
def synflow(ctx: ProxyContext) -> float:
    """log of sum |W * dR/dW| with |W|, no BN, all-ones input (float32, float64 on overflow)."""
    base = prepare_copy(ctx.model, ctx.device)
    _strip_bn(base)
    with torch.no_grad():
        for t in list(base.parameters()) + list(base.buffers()):
            if t.is_floating_point():
                t.abs_()
    total = _synflow_sum(base, ctx, torch.float32)
    if not math.isfinite(total) or total > FP32_SAFE:
        total = _synflow_sum(base.double(), ctx, torch.float64)
    if total <= 0.0 or not math.isfinite(total):
        return float("-inf") if total == 0.0 else float("nan")
    return math.log(total)


def _synflow_sum(net: nn.Module, ctx: ProxyContext, dtype: torch.dtype) -> float:
    for p in net.parameters():
        p.grad = None
    x = torch.ones((1, *ctx.images.shape[1:]), dtype=dtype, device=ctx.device)
    out = main_output(net(x))
    if not bool(torch.isfinite(out).all()):
        return float("inf")
    out.sum().backward()
    total = 0.0
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None:
            total += float((m.weight.detach() * m.weight.grad).abs().sum(dtype=torch.float64))
    return total
