"""meco: MeCo (NeurIPS 2023), sum over layers of the minimum eigenvalue of the Pearson correlation
matrix of the layer's feature maps.

For one input image, the output of a layer is C x H x W; each channel, flattened over the H*W
positions, is one variable, and P is their C x C correlation matrix. MeCo = sum_l lambda_min(P_l).

Choices (the paper leaves them open or fixes them for classification): the layers are every
Conv2d, ConvTranspose2d and Linear module (encoder and decoder); the image is the first image of
the batch, run through the private copy in train mode together with the rest of the batch (so
BatchNorm uses batch statistics, as the shared pass does); a channel with zero variance is
uncorrelated with the others (its row of P is the unit vector); a layer with fewer than two
positions is skipped. When H*W - 1 + (zero-variance channels) < C, P is singular and lambda_min is
exactly 0 without an eigendecomposition. Cost: one forward pass (no backward), plus one
symmetric eigendecomposition per layer with H*W > C.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from saswot.proxies._featpass import FEATURE_LAYERS
from saswot.proxies._spec import ProxyContext, register_proxy
from saswot.proxies._stats import main_output


def min_correlation_eigenvalue(feature: Tensor) -> float:
    """Smallest eigenvalue of the channel correlation matrix of one C x ... feature map.

    Returns 0.0 when the matrix is singular by rank (fewer positions than channels) and NaN when
    there are fewer than two positions.
    """
    x = feature.detach().reshape(feature.shape[0], -1).double()
    c, p = x.shape
    if p < 2:
        return float("nan")
    x = x - x.mean(dim=1, keepdim=True)
    norms = x.norm(dim=1)
    live = norms > 0
    dead = int((~live).sum())
    if p - 1 + dead < c:
        return 0.0
    xn = torch.zeros_like(x)
    xn[live] = x[live] / norms[live, None]
    corr = xn @ xn.t()
    corr.diagonal().copy_(torch.ones(c, dtype=corr.dtype))
    return max(0.0, float(torch.linalg.eigvalsh(corr)[0]))


def layer_outputs_of_first_image(net: nn.Module, images: Tensor) -> list[Tensor]:
    """Outputs (first image only, C x H x W or F) of every feature layer, in execution order."""
    seen: set[int] = set()
    maps: list[Tensor] = []

    def hook(module: nn.Module, _inputs: tuple, out: Tensor) -> None:
        if id(module) not in seen:
            seen.add(id(module))
            maps.append(out[0].detach())

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, FEATURE_LAYERS)]
    try:
        with torch.no_grad():
            main_output(net(images))
    finally:
        for h in handles:
            h.remove()
    return maps


@register_proxy(
    "meco",
    requires=(),  # runs its own pass
    description="sum_l min eigenvalue of the channel correlation matrix",
)
def meco(ctx: ProxyContext) -> float:
    """Sum over conv / transposed-conv / linear layers of lambda_min of the channel correlation."""
    maps = layer_outputs_of_first_image(ctx.work_copy(), ctx.images.to(ctx.device))
    values = [min_correlation_eigenvalue(f.reshape(f.shape[0], -1) if f.dim() > 1 else f[:, None]) for f in maps]
    return math.fsum(v for v in values if not math.isnan(v))
