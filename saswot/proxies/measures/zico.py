"""zico: ZiCo (ICLR 2023), sum over layers of log(sum_theta mean_b |g_theta| / std_b(g_theta)).

g_theta is the gradient of the pixel-wise cross entropy (mean over valid pixels, ``ignore_index``
skipped, logits resized to the label size as in the shared pass) with respect to one weight
element, and mean / std are taken over mini-batches b.

Choices: the batch is split into :data:`MINI_BATCHES` = 2 mini-batches of consecutive images
(the definition needs at least two); std is the population std (ddof 0); elements whose std is 0
are left out of the sum (their ratio is undefined); a layer whose sum is 0 is left out of the
total; the layers are every Conv2d, ConvTranspose2d and Linear weight (encoder and decoder).
Train mode, BatchNorm statistics of each mini-batch. Cost: one forward + backward per mini-batch,
i.e. about one forward + backward of the whole batch; the shared pass's single full-batch gradient
cannot be reused (BatchNorm makes the mini-batch gradients differ from its parts).
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import Tensor

from saswot.errors import ScoreError
from saswot.proxies._featpass import feature_layers
from saswot.proxies._spec import ProxyContext, register_proxy
from saswot.proxies._stats import main_output, seg_loss

#: Mini-batches the batch is split into.
MINI_BATCHES = 2


def zico_from_grads(per_batch: list[list[Tensor]]) -> float:
    """ZiCo from per-mini-batch weight gradients ``per_batch[b][layer]`` (same shapes across b)."""
    if len(per_batch) < 2:
        raise ScoreError("zico needs the gradients of at least two mini-batches")
    total = 0.0
    b = len(per_batch)
    for layer_grads in zip(*per_batch):
        if b == 2:  # mean|g| / std = (|g1| + |g2|) / |g1 - g2| with the population std of two values
            a, c = layer_grads[0].float(), layer_grads[1].float()
            num = a.abs() + c.abs()
            std = (a - c).abs_()
        else:
            mean = sum(t.float() for t in layer_grads) / b
            std = (sum((t.float() - mean).square_() for t in layer_grads) / b).sqrt_()
            num = sum(t.float().abs() for t in layer_grads) / b
        keep = std > 0
        ratio = float(num.div_(torch.where(keep, std, torch.ones_like(std))).mul_(keep).sum(dtype=torch.float64))
        if ratio > 0:
            total += math.log(ratio)
    return total


@register_proxy("zico", requires=(), description="sum_l log(sum mean|g| / std(g)) over 2 mini-batches")
def zico(ctx: ProxyContext) -> float:
    """ZiCo over :data:`MINI_BATCHES` mini-batches of the batch."""
    n = ctx.images.shape[0]
    if n < MINI_BATCHES:
        raise ScoreError(f"zico needs a batch of at least {MINI_BATCHES} images, got {n}")
    net = ctx.work_copy()
    weights = [cast(Tensor, m.weight) for m in feature_layers(net)]  # conv/linear weights are Parameters
    per_batch: list[list[Tensor]] = []
    for idx in torch.tensor_split(torch.arange(n), MINI_BATCHES):
        x = ctx.images[idx].to(ctx.device)
        y = ctx.labels[idx].to(ctx.device)
        loss = seg_loss(main_output(net(x)), y, ctx.ignore_index)
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
        per_batch.append([torch.zeros_like(w) if g is None else g.detach() for w, g in zip(weights, grads)])
    return zico_from_grads(per_batch)
