"""AZ-NAS (CVPR 2024) component scores: expressivity, progressivity, trainability, complexity.

Each component is a registered proxy of one network (``az_expressivity``, ``az_progressivity``,
``az_trainability``, ``az_complexity``); the first three share one pass (memoised in the
context). AZ-NAS itself is their rank aggregation over the set of architectures being ranked,
sum_m log(rank_m / N), which needs the pool: it is the ensemble ``aznas`` of
:mod:`saswot.workflows.ensemble_rank` (computed by ``saswot rank`` over the pool, or for one network against the
stored ranks of a calibration sample).

Definitions, with f_l the output of block l (``primary_blocks``: encoder cells / residual blocks
and decoder layers of a TransNAS-Bench-101 network), in execution order:

* expressivity: the N*H*W feature vectors of f_l (C channels each) are centred, their covariance
  eigenvalues lambda normalised to p = lambda / sum(lambda), and E_l = -sum p log p (entropy;
  0 for a block whose covariance is zero); s_E = sum_l E_l.
* progressivity: s_P = min_l (E_l - E_{l-1}) over consecutive blocks.
* trainability: a Gaussian vector eps (seeded by ``ctx.seed``, the shape of the logits) is
  back-propagated from sum(logits * eps); with g_l = d/d f_l, block l's Jacobian spectral norm is
  estimated by sigma_l = ||g_{l-1}|| / ||g_l|| (f_{l-1} is block l's input), and
  s_T = mean_l (-sigma_l - 1/sigma_l + 2) (0 at sigma = 1, negative otherwise); pairs with a zero
  gradient norm are skipped.
* complexity: s_C = FLOPs of one forward at batch 1 (as ``flops``, in MFLOPs).

Choices left open by the paper: which feature maps form the blocks (above), the random vector
(Gaussian on the logits, label-free), covariance over all N*H*W positions (the eigenvalues are
those of the smaller of the two Gram matrices, the same non-zero spectrum). Cost: one forward plus
one backward to the block outputs (no weight gradients), i.e. at most one forward + backward;
complexity reuses the parameter / FLOP count.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
from torch import Tensor, nn

from saswot.proxies._featpass import primary_blocks
from saswot.proxies._spec import ProxyContext, Stat, register_proxy
from saswot.proxies._stats import main_output

#: The four components, in the paper's order.
COMPONENTS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")


def feature_entropy(feature: Tensor) -> float:
    """Entropy of the normalised covariance spectrum of the C-channel vectors of a feature map."""
    f = feature.detach().double()
    x = f.movedim(1, -1).reshape(-1, f.shape[1]) if f.dim() > 2 else f
    x = x - x.mean(dim=0, keepdim=True)
    gram = x @ x.t() if x.shape[0] < x.shape[1] else x.t() @ x
    lam = torch.linalg.eigvalsh(gram).clamp_min(0.0)
    total = float(lam.sum())
    if total <= 0:
        return 0.0
    p = lam / total
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def trainability(grad_norms: list[float]) -> float:
    """mean over consecutive blocks of -sigma - 1/sigma + 2 with sigma = ||g_{l-1}|| / ||g_l||."""
    terms = []
    for prev, cur in itertools.pairwise(grad_norms):
        if prev > 0 and cur > 0:
            sigma = prev / cur
            terms.append(-sigma - 1.0 / sigma + 2.0)
    return math.fsum(terms) / len(terms) if terms else float("nan")


def progressivity(entropies: list[float]) -> float:
    """min over consecutive blocks of E_l - E_{l-1} (NaN with fewer than two blocks)."""
    if len(entropies) < 2:
        return float("nan")
    return min(b - a for a, b in itertools.pairwise(entropies))


def az_components(ctx: ProxyContext) -> dict[str, float]:
    """Expressivity, progressivity and trainability of the context's network (one pass, memoised)."""
    if "aznas" in ctx._memo:
        return ctx._memo["aznas"]
    net = ctx.work_copy()
    blocks = primary_blocks(net)
    outs: list[Tensor] = []
    seen: set[int] = set()

    def hook(module: nn.Module, _inputs: tuple, out: Any) -> None:
        if id(module) not in seen and isinstance(out, Tensor):
            seen.add(id(module))
            outs.append(out)

    handles = [b.register_forward_hook(hook) for b in blocks]
    try:
        logits = main_output(net(ctx.images.to(ctx.device)))
    finally:
        for h in handles:
            h.remove()
    gen = torch.Generator().manual_seed(int(ctx.seed))
    eps = torch.randn(tuple(logits.shape), generator=gen, dtype=logits.dtype).to(logits.device)
    wanted = [o for o in outs if o.requires_grad]
    grads = torch.autograd.grad((logits * eps).sum(), wanted, allow_unused=True) if wanted else ()
    grad_of = {id(o): g for o, g in zip(wanted, grads)}
    norms = [float(grad_of[id(o)].double().norm()) if grad_of.get(id(o)) is not None else 0.0 for o in outs]
    entropies = [feature_entropy(o) for o in outs]
    result = {
        "az_expressivity": math.fsum(entropies),
        "az_progressivity": progressivity(entropies),
        "az_trainability": trainability(norms),
    }
    ctx._memo["aznas"] = result
    return result


@register_proxy(
    "az_expressivity",
    requires=(),  # runs its own pass (shared by the three, memoised in the context)
    description="AZ-NAS expressivity: sum of block covariance-spectrum entropies",
)
def az_expressivity(ctx: ProxyContext) -> float:
    """sum_l entropy of the normalised covariance eigenvalues of block l's features."""
    return az_components(ctx)["az_expressivity"]


@register_proxy(
    "az_progressivity",
    requires=(),  # runs its own pass (shared by the three, memoised in the context)
    description="AZ-NAS progressivity: min increase of block expressivity",
)
def az_progressivity(ctx: ProxyContext) -> float:
    """min_l (E_l - E_{l-1})."""
    return az_components(ctx)["az_progressivity"]


@register_proxy(
    "az_trainability",
    requires=(),  # runs its own pass (shared by the three, memoised in the context)
    description="AZ-NAS trainability: mean -sigma - 1/sigma + 2 of block Jacobians",
)
def az_trainability(ctx: ProxyContext) -> float:
    """mean_l (-sigma_l - 1/sigma_l + 2), sigma_l from back-propagated gradient norms."""
    return az_components(ctx)["az_trainability"]


@register_proxy("az_complexity", requires={Stat.COUNTS}, description="AZ-NAS complexity: MFLOPs at batch 1")
def az_complexity(ctx: ProxyContext) -> float:
    """FLOPs of one forward at batch 1 / 1e6."""
    return ctx.counts().flops / 1e6
