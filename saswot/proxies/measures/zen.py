"""zen: Zen-score (Lin et al. 2021) on the pre-classifier feature map of a segmentation net.

On the shared private copy, through ``torch.func.functional_call`` (no deep copy, the copy's
weights untouched): conv/linear weights ~ N(0, 1) and biases 0, BN gamma = 1 and beta = 0;
x, eps ~ N(0, 1) with the batch's shape; f = input of the classifier (the last conv producing
``num_classes``; ``model.classifier`` for TNB nets). Train mode, no grad, one repeat:
Delta = mean_n sum_chw |f(x) - f(x + 0.01 eps)|, score = log Delta +
sum_BN log sqrt(mean(running_var)) (running_var after the two forwards, as in ZenNAS).

Seeding: the i-th conv/linear weight (module order) gets its own generator, seeded with
``layer_seed(ctx.seed, i)`` (numpy ``SeedSequence``), and x, eps come from a generator seeded
with ``ctx.seed``; so the values do not depend on how many threads draw them. Drawing 12-52 M
Gaussian values is sequential per generator and was the larger half of zen's cost at 64 px, so
the layers are drawn in parallel on ``torch.get_num_threads()`` threads (torch releases the GIL
while it fills a tensor; zen went from 1.58 to 1.24 forward+backward passes, docs/results.md).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from saswot.proxies._spec import ProxyContext, register_proxy
from saswot.proxies._stats import find_classifier, param_key


def layer_seed(seed: int, index: int) -> int:
    """64-bit seed of the ``index``-th weight's generator, derived from ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0])


def gaussian_tensors(net: nn.Module, seed: int, source: nn.Module, workers: int = 1) -> dict[str, torch.Tensor]:
    """Zen's initialisation as a tensor dict for ``functional_call`` (``net`` is not modified).

    Conv/linear weights ~ N(0, 1), the i-th (module order) drawn from a generator seeded with
    ``layer_seed(seed, i)`` (the result does not depend on ``workers``), their biases 0;
    BatchNorm gamma 1 and beta 0; BatchNorm running statistics cloned from ``source`` (the
    caller's model, whose buffers the statistics pass has not updated), so that they can be
    updated in place.
    """
    src = dict(source.named_buffers())
    out: dict[str, torch.Tensor] = {}
    weights: list[torch.Tensor] = []
    with torch.no_grad():
        for mod_name, m in net.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
                weights.append(torch.empty_like(m.weight))
                out[param_key(mod_name, "weight")] = weights[-1]
                if m.bias is not None:
                    out[param_key(mod_name, "bias")] = torch.zeros_like(m.bias)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.affine:
                    out[param_key(mod_name, "weight")] = torch.ones_like(m.weight)
                    out[param_key(mod_name, "bias")] = torch.zeros_like(m.bias)
                for name, buf in m.named_buffers(recurse=False):
                    if buf is not None:
                        key = param_key(mod_name, name)
                        out[key] = src[key].detach().clone().to(buf.device)

    def fill(index: int) -> None:
        gen = torch.Generator(device=weights[index].device).manual_seed(layer_seed(seed, index))
        with torch.no_grad():
            weights[index].normal_(0.0, 1.0, generator=gen)

    if workers > 1 and len(weights) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(fill, range(len(weights))))
    else:
        for i in range(len(weights)):
            fill(i)
    return out


@register_proxy(
    "zen",
    requires=(),  # runs its own pass
    cache_id="zen@2",  # per-layer generators since 2026-11-29: cached values of "zen" are stale
    description="Zen-score on pre-classifier map",
)
def zen(ctx: ProxyContext) -> float:
    """log mean_n ||f(x) - f(x')||_1 + sum_BN log sqrt(mean running_var)."""
    net = ctx.work_copy()  # not modified: the Gaussian weights go in through functional_call
    workers = max(1, torch.get_num_threads()) if str(ctx.device) == "cpu" else 1
    tensors = {k: v.to(ctx.device) for k, v in gaussian_tensors(net, int(ctx.seed), ctx.model, workers).items()}
    gen = torch.Generator().manual_seed(int(ctx.seed))
    shape = tuple(ctx.images.shape)
    x = torch.randn(shape, generator=gen).to(ctx.device)
    eps = torch.randn(shape, generator=gen).to(ctx.device)
    feats: list[torch.Tensor] = []
    handle = find_classifier(net, ctx.num_classes).register_forward_pre_hook(
        lambda _m, inputs: feats.append(inputs[0].detach())
    )
    try:
        with torch.no_grad():
            functional_call(net, tensors, (x,))
            functional_call(net, tensors, (x + 0.01 * eps,))
    finally:
        handle.remove()
    if len(feats) < 2:
        return float("nan")
    delta = (feats[0].double() - feats[1].double()).abs().flatten(1).sum(1).mean()
    score = math.log(float(delta)) if float(delta) > 0 else float("-inf")
    for name, m in net.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None:
            score += math.log(math.sqrt(float(tensors[param_key(name, "running_var")].double().mean())))
    return score
