"""grasp: -W * (H g) summed over conv/linear layers (ZC sign convention).

g = dL/dW (detached); Hg = d(sum_l g_l . dL/dW_l)/dW; score = sum_l sum(-W_l * Hg_l).
Temperature 1, one iteration; only Conv2d / Linear weights are differentiated.

Cost: the shared statistics pass differentiates the loss with ``create_graph=True`` when grasp is
among the requested proxies (it requires ``Stat.GRAD_GRAPH``), so grasp adds only the Hessian-gradient
backward (about 2x a plain forward+backward) and no forward of its own. ZC runs the forward
twice; in train mode on the same batch both forwards are identical, so the value is the same.
Called on a context whose statistics were collected without the graph, grasp runs its own
forward with ``create_graph=True`` (:func:`grasp_own_pass`, same value).

Networks whose activations have no double backward (``hardsigmoid`` / ``hardswish`` of
MobileNetV3-style segmenters: torch raises "derivative for aten::hardsigmoid_backward is not
implemented") get a numerical Hessian-gradient product instead (:func:`finite_difference_hg`): the
central difference ``H g ~ (grad L(W + e g) - grad L(W - e g)) / 2e`` of two more forward/backward
passes, with ``e = 1e-3 * (1 + |W|) / |g|`` over all the differentiated weights. Its error is
second order in ``e`` on smooth networks; on piecewise-quadratic activations (hardswish) it equals
the exact product unless the step moves an activation across a kink.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call

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
    try:
        return hessian_gradient_score(weights, grads)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError:  # an op of the network has no double backward: the numerical product instead
        del graph, weights, grads
        return grasp_finite_difference(
            ctx.work_copy(), ctx.images.to(ctx.device), ctx.labels.to(ctx.device), ctx.ignore_index
        )


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
    """GraSP on ``net`` with its own forward (``net``'s weights and ``.grad`` fields untouched).

    Falls back to :func:`grasp_finite_difference` when an op of ``net`` has no double backward.
    """
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    loss = seg_loss(main_output(net(images)), labels, ignore_index)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    try:
        return hessian_gradient_score(weights, grads)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError:  # no double backward through some op (e.g. hardsigmoid)
        del loss, grads
        return grasp_finite_difference(net, images, labels, ignore_index)


def _weight_names(net: nn.Module) -> list[str]:
    """Parameter names of the Conv2d / Linear weights of ``net``, in module order."""
    return [
        f"{name}.weight" if name else "weight"
        for name, m in net.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]


def _loss_grads(
    net: nn.Module, names: Sequence[str], weights: Sequence[Tensor], images: Tensor, labels: Tensor, ignore_index: int
) -> list[Tensor | None]:
    """``dL/dW`` (detached) with the weights ``names`` replaced by ``weights`` (``net`` itself untouched)."""
    params = {n: w.detach().requires_grad_(True) for n, w in zip(names, weights)}
    loss = seg_loss(main_output(functional_call(net, params, (images,))), labels, ignore_index)
    grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
    return [None if g is None else g.detach() for g in grads]


def finite_difference_hg(
    net: nn.Module, images: Tensor, labels: Tensor, ignore_index: int = 255, rel_step: float = 1e-3
) -> tuple[list[Tensor], list[Tensor | None], list[Tensor | None]]:
    """Weights ``W``, gradients ``g`` and the central-difference Hessian-gradient product ``H g``.

    ``H g ~ (grad L(W + e g) - grad L(W - e g)) / 2e`` with ``e = rel_step * (1 + |W|) / |g|``
    (norms over every Conv2d / Linear weight): three forward/backward passes, first derivatives
    only, so it works on any network torch can differentiate once. ``net``'s weights and ``.grad``
    fields are untouched (the perturbed weights go through ``torch.func.functional_call``).

    Returns:
        ``(weights, grads, hg)``; a weight the loss does not reach has None in ``grads`` and ``hg``.
    """
    names = _weight_names(net)
    weights = [w.detach() for w in (net.get_parameter(n) for n in names)]
    grads = _loss_grads(net, names, weights, images, labels, ignore_index)
    with torch.no_grad():
        w_norm = math.sqrt(sum(float((w.double() ** 2).sum()) for w in weights))
        g_norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads if g is not None))
    if g_norm == 0.0:
        return weights, grads, [None if g is None else torch.zeros_like(g) for g in grads]
    step = rel_step * (1.0 + w_norm) / g_norm
    plus = [w if g is None else w + step * g for w, g in zip(weights, grads)]
    minus = [w if g is None else w - step * g for w, g in zip(weights, grads)]
    g_plus = _loss_grads(net, names, plus, images, labels, ignore_index)
    g_minus = _loss_grads(net, names, minus, images, labels, ignore_index)
    hg: list[Tensor | None] = []
    for g, a, b in zip(grads, g_plus, g_minus):
        if g is None or a is None or b is None:
            hg.append(None)
        else:
            hg.append((a - b) / (2.0 * step))
    return weights, grads, hg


def grasp_finite_difference(net: nn.Module, images: Tensor, labels: Tensor, ignore_index: int = 255) -> float:
    """GraSP ``sum_l sum(-W_l * (H g)_l)`` with the numerical product of :func:`finite_difference_hg`."""
    weights, _, hg = finite_difference_hg(net, images, labels, ignore_index)
    total = 0.0
    with torch.no_grad():
        for w, h in zip(weights, hg):
            if h is not None:
                total -= float((w * h).sum(dtype=torch.float64))
    return total
