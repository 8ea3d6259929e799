"""synflow: log of the synaptic-flow score (Tanaka et al. 2020; ZC with NASLib's log transform).

Every parameter and buffer -> |.|, BatchNorm removed; input = all-ones 1 x C x H x W (the
batch's resolution); R = sum of the main output; score = log(sum_l sum |W_l * dR/dW_l|) over
Conv2d / Linear weights. The raw product overflows float32 (values of 1e30-1e60 are common),
so the proxy returns its natural log; a raw value of 0 gives -inf -> sentinel.

Implementation: no copy of the network is made. The pass runs on the shared private copy
(``ctx.work_copy()``) through ``torch.func.functional_call`` with |W| tensors, and every
BatchNorm is made an exact identity for the duration of the call (eval mode, eps = 0,
running mean 0, running var 1, weight 1, bias 0: ``x * 1 + 0 == x`` bit for bit), which equals
removing it. A network with a BatchNorm that keeps no running statistics falls back to a deep
copy with the BatchNorm modules replaced by ``nn.Identity``.

Precision: the pass runs in float32 and is accepted whenever every output and gradient is
finite (all terms are non-negative, so there is no cancellation: float32 loses only relative
precision, ~1e-7); on any inf/NaN it is redone in float64 (ZC's precision).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.func import functional_call

from saswot.proxies.registry import ProxyContext, register_proxy
from saswot.stats import main_output, prepare_copy

_BN = nn.modules.batchnorm._BatchNorm


@register_proxy(
    "synflow", needs_labels=False, bn=False, own_pass=True, description="log sum_l |W_l * dR/dW_l| (BN off, |W|, ones input)"
)
def synflow(ctx: ProxyContext) -> float:
    """log of sum |W * dR/dW| with |W|, no BN, all-ones input (float32, float64 on overflow)."""
    net = ctx.work_copy()
    bns = [m for m in net.modules() if isinstance(m, _BN)]
    if any(m.running_mean is None or m.running_var is None for m in bns):
        return _synflow_stripped_copy(ctx)
    total = float("inf")
    for dtype in (torch.float32, torch.float64):
        tensors = _abs_tensors(net, dtype)
        with _identity_batchnorm(bns):
            total = _synflow_sum(net, tensors, ctx, dtype)
        if math.isfinite(total):
            break
    return _log_or_flag(total)


def _abs_tensors(net: nn.Module, dtype: torch.dtype) -> dict[str, Tensor]:
    """|p| for every parameter and floating buffer; identity values for BatchNorm's."""
    out: dict[str, Tensor] = {}
    for mod_name, mod in net.named_modules():
        prefix = f"{mod_name}." if mod_name else ""
        for name, p in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
            if p is None or not p.is_floating_point():
                continue
            if isinstance(mod, _BN):
                fill = 0.0 if name in ("bias", "running_mean") else 1.0
                out[prefix + name] = torch.full_like(p, fill, dtype=dtype)
            else:
                out[prefix + name] = p.detach().to(dtype).abs().requires_grad_(isinstance(p, nn.Parameter))
    return out


@contextmanager
def _identity_batchnorm(bns: list[nn.Module]) -> Iterator[None]:
    """Eval mode and eps = 0 on ``bns`` for the duration (restored afterwards)."""
    saved = [(m, m.training, m.eps) for m in bns]
    try:
        for m in bns:
            m.eval()
            m.eps = 0.0
        yield
    finally:
        for m, training, eps in saved:
            m.train(training)
            m.eps = eps


def _synflow_sum(net: nn.Module, tensors: dict[str, Tensor], ctx: ProxyContext, dtype: torch.dtype) -> float:
    """sum_l sum |W_l * dR/dW_l| (inf if anything overflowed)."""
    x = torch.ones((1, *ctx.images.shape[1:]), dtype=dtype, device=ctx.device)
    out = main_output(functional_call(net, tensors, (x,)))
    if not bool(torch.isfinite(out).all()):
        return float("inf")
    names = [f"{n}.weight" if n else "weight" for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    weights = [tensors[n] for n in names]
    grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
    total = 0.0
    for w, g in zip(weights, grads):
        if g is not None:
            total += float((w.detach() * g).abs().sum(dtype=torch.float64))
    return total


def _log_or_flag(total: float) -> float:
    if total <= 0.0 or not math.isfinite(total):
        return float("-inf") if total == 0.0 else float("nan")
    return math.log(total)


def _strip_bn(net: nn.Module) -> None:
    for name, child in list(net.named_children()):
        if isinstance(child, _BN):
            setattr(net, name, nn.Identity())
        else:
            _strip_bn(child)


def _synflow_stripped_copy(ctx: ProxyContext) -> float:
    """Fallback: a deep copy with BatchNorm replaced by identity (BN without running stats)."""
    base = prepare_copy(ctx.model, ctx.device)
    _strip_bn(base)
    total = float("inf")
    for dtype in (torch.float32, torch.float64):
        total = _synflow_sum(base, _abs_tensors(base, dtype), ctx, dtype)
        if math.isfinite(total):
            break
    return _log_or_flag(total)
