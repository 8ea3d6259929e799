"""grasp: -W * (H g) summed over conv/linear layers (ZC sign convention).

g = dL/dW (detached); Hg = d(sum_l g_l . dL/dW_l)/dW; score = sum_l sum(-W_l * Hg_l).
Temperature 1, one iteration; only Conv2d / Linear weights are differentiated.

Cost: the shared statistics pass differentiates the loss with ``create_graph=True`` when grasp is
among the requested proxies (it requires ``Stat.GRAD_GRAPH``), so grasp adds only the Hessian-gradient
backward (about 2x a plain forward+backward) and no forward of its own. ZC runs the forward
twice; in train mode on the same batch both forwards are identical, so the value is the same.
Called on a context whose statistics were collected without the graph, grasp runs its own
forward with ``create_graph=True`` (:func:`grasp_own_pass`, same value).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from saswot.proxies._spec import ProxyContext, Stat, register_proxy
from saswot.proxies._stats import main_output, seg_loss


@register_proxy(
    "grasp",
    requires={Stat.GRAD_GRAPH},
    description="sum_l -W_l * (H g)_l (GraSP, ZC sign; Hg by double backward over the shared pass)",
)
def grasp(ctx: ProxyContext) -> float:
    """GraSP score with an exact Hessian-gradient product (double backward)."""
    graph = ctx.stats.extra.pop("grad_graph", None)  # popped: the graph is freed after use
    if graph is None:
        return grasp_own_pass(ctx.work_copy(), ctx.images.to(ctx.device), ctx.labels.to(ctx.device), ctx.ignore_index)
    weights, grads = graph
    return hessian_gradient_score(weights, grads)


def hessian_gradient_score(weights: Sequence[Tensor], grads: Sequence[Tensor | None]) -> float:
    """``sum_l sum(-W_l * (H g)_l)`` from weights and their graph-attached gradients ``g``."""
    used = [(w, g) for w, g in zip(weights, grads) if g is not None]
    terms = [(g * g.detach()).sum() for _, g in used if g.requires_grad]
    if not terms:  # no gradient depends on a weight: the Hessian-gradient product is zero
        return 0.0
    z = torch.stack(terms).sum()
    hg = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
    total = 0.0
    with torch.no_grad():
        for (w, _), h in zip(used, hg):
            if h is not None:
                # -sum(W * Hg): negating the float64 sum equals summing the negated products bit
                # for bit (rounding is symmetric), and saves the temporary -W of every layer
                total -= float((w * h).sum(dtype=torch.float64))
    return total


def grasp_own_pass(net: nn.Module, images: Tensor, labels: Tensor, ignore_index: int = 255) -> float:
    """GraSP on ``net`` with its own forward (``net``'s weights and ``.grad`` fields untouched)."""
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    loss = seg_loss(main_output(net(images)), labels, ignore_index)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    return hessian_gradient_score(weights, grads)
