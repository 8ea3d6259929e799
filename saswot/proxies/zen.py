"""zen: Zen-score (Lin et al. 2021) on the pre-classifier feature map of a segmentation net.

On a copy: conv/linear weights ~ N(0, 1) and biases 0, BN gamma = 1 and beta = 0 (seeded with
``ctx.seed``); x, eps ~ N(0, 1) with the batch's shape; f = input of the classifier (the last
conv producing ``num_classes``; ``model.classifier`` for TNB nets). Train mode, no grad, one
repeat: Delta = mean_n sum_chw |f(x) - f(x + 0.01 eps)|, score = log Delta +
sum_BN log sqrt(mean(running_var)) (running_var after the two forwards, as in ZenNAS).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from saswot.proxies.registry import ProxyContext, register_proxy
from saswot.stats import find_classifier, prepare_copy


def _gaussian_init(net: nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
                m.weight.normal_(0.0, 1.0, generator=gen)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()


@register_proxy("zen", needs_grad=False, needs_labels=False, own_pass=True, description="Zen-score on pre-classifier map")
def zen(ctx: ProxyContext) -> float:
    """log mean_n ||f(x) - f(x')||_1 + sum_BN log sqrt(mean running_var)."""
    net = prepare_copy(ctx.model, "cpu")
    gen = torch.Generator().manual_seed(int(ctx.seed))
    _gaussian_init(net, gen)
    net = net.to(ctx.device)
    shape = tuple(ctx.images.shape)
    x = torch.randn(shape, generator=gen).to(ctx.device)
    eps = torch.randn(shape, generator=gen).to(ctx.device)
    feats: list[torch.Tensor] = []
    handle = find_classifier(net, ctx.num_classes).register_forward_pre_hook(
        lambda _m, inputs: feats.append(inputs[0].detach())
    )
    try:
        with torch.no_grad():
            net(x)
            net(x + 0.01 * eps)
    finally:
        handle.remove()
    if len(feats) < 2:
        return float("nan")
    delta = (feats[0].double() - feats[1].double()).abs().flatten(1).sum(1).mean()
    score = math.log(float(delta)) if float(delta) > 0 else float("-inf")
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None:
            score += math.log(math.sqrt(float(m.running_var.double().mean())))
    return score
