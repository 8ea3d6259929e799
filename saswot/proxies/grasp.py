"""grasp: -W * (H g) summed over conv/linear layers (ZC sign convention), own double-backward pass.

g = dL/dW (detached); Hg = d(sum_l g_l . dL/dW_l)/dW; score = sum_l sum(-W_l * Hg_l).
Temperature 1, one iteration. The gradient and the Hessian-vector product come from one
forward with ``create_graph=True`` (ZC runs the same forward twice; in train mode on the same
batch both forwards are identical, so the value is the same).
"""

from __future__ import annotations

import torch

from saswot.proxies.registry import ProxyContext, register_proxy
from saswot.stats import main_output, seg_loss


@register_proxy("grasp", own_pass=True, description="sum_l -W_l * (H g)_l (GraSP, ZC sign)")
def grasp(ctx: ProxyContext) -> float:
    """GraSP score with a Hessian-gradient product (double backward)."""
    net = ctx.work_copy()  # autograd.grad only: .grad fields and weights stay as they are
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    weights = [m.weight for m in layers]
    logits = main_output(net(ctx.images.to(ctx.device)))
    loss = seg_loss(logits, ctx.labels.to(ctx.device), ctx.ignore_index)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    used = [(w, g) for w, g in zip(weights, grads) if g is not None]
    if not used:
        return 0.0
    z = sum((g * g.detach()).sum() for _, g in used)
    hg = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
    total = 0.0
    for (w, _), h in zip(used, hg):
        if h is not None:
            total += float((-w.detach() * h.detach()).sum(dtype=torch.float64))
    return total
