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

Precision and range: all terms are non-negative, so float32 loses only relative precision
(~1e-7) and never cancels; its problem is range. About half of the TransNAS-Bench-101 micro
networks (and 71 % of the macro ones) reach sums of 1e40-1e58, beyond float32's 3.4e38, and
redoing those in float64 was most of synflow's cost. With |W|, identity BN and a positive
input every ReLU is the
identity, so the network is a positively homogeneous affine map: multiplying the input *and every
bias* by s = 2^-k multiplies every activation by s, and seeding the backward with t = 2^-k
multiplies every activation gradient by t, so every |W * dR/dW| term is scaled by exactly 2^-2k
(powers of two scale floating-point values exactly, barring under/overflow). The proxy therefore

1. runs the float32 pass unscaled and keeps it if everything is finite;
2. otherwise estimates R (the unscaled forward, or one probing forward at 2^-100), picks
   k = ceil(log2(R) / 2) so that activations and gradients both stay within ~sqrt(R) of 1, and
   reruns the pass with input, biases and backward seed scaled by 2^-k; the sum is unscaled by
   2^2k in float64. It is kept only if it is finite and R from the scaled forward equals the
   first estimate to 1e-5 (the homogeneity check: a network with a non-homogeneous op, e.g. a
   sigmoid or an additive constant, fails it);
3. otherwise (or for R beyond ~1e70) redoes the pass in float64 (ZC's precision).

On the 504 micro dev archs the scaled float32 value equals the float64 value to 1e-6 relative
(``benchmarks/check_synflow_scaling.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.func import functional_call

from saswot.proxies._spec import ProxyContext, register_proxy
from saswot.proxies._stats import main_output, param_key, prepare_copy

_BN = nn.modules.batchnorm._BatchNorm


@register_proxy(
    "synflow",
    requires=(),  # runs its own pass (BatchNorm off, |W|, all-ones input)
    description="log sum_l |W_l * dR/dW_l| (BN off, |W|, ones input)",
)
def synflow(ctx: ProxyContext) -> float:
    """log of sum |W * dR/dW| with |W|, no BN, all-ones input (float32, scaled float32 or float64)."""
    return _log_or_flag(synflow_sum(ctx))


#: Scale exponent of the probing forward when the unscaled float32 forward overflows.
PROBE_EXPONENT = 100
#: Relative agreement of R between two scales required to trust the scaled pass.
HOMOGENEITY_RTOL = 1e-5


def synflow_sum(ctx: ProxyContext, passes: list[tuple[torch.dtype, int]] | None = None) -> float:
    """The raw sum_l sum |W_l * dR/dW_l| (not logged) of ``ctx``'s network.

    ``passes``, if given, receives the (dtype, scale exponent) of every pass run, in order: the
    last one is the pass whose value was taken (see the module doc).
    """
    net = ctx.work_copy()
    bns = [m for m in net.modules() if isinstance(m, _BN)]
    if any(m.running_mean is None or m.running_var is None for m in bns):
        net = prepare_copy(ctx.model, ctx.device)  # BN without running stats: strip it from a copy
        _strip_bn(net)
        bns = []
    with _identity_batchnorm(bns):
        return _synflow_total(net, ctx, [] if passes is None else passes)


def _synflow_total(net: nn.Module, ctx: ProxyContext, passes: list[tuple[torch.dtype, int]]) -> float:
    """sum_l sum |W_l * dR/dW_l|: float32, power-of-two scaled float32, or float64 (module doc)."""
    weights = _weight_names(net)
    biases = _bias_names(net)

    def run(
        tensors: dict[str, Tensor], dtype: torch.dtype, k: int = 0, forward_only: bool = False
    ) -> tuple[float, float]:
        passes.append((dtype, k))
        return _synflow_pass(net, tensors, ctx, dtype, k, forward_only, weights=weights, biases=biases)

    t32 = _abs_tensors(net, torch.float32)
    r, total = run(t32, torch.float32)
    if math.isfinite(total):
        return total
    if not math.isfinite(r):
        r, _ = run(t32, torch.float32, PROBE_EXPONENT, forward_only=True)
    if math.isfinite(r) and r > 0.0:
        k = max(1, math.ceil(math.log2(r) / 2))
        r_k, total = run(t32, torch.float32, k)
        if math.isfinite(total) and math.isclose(r_k, r, rel_tol=HOMOGENEITY_RTOL):
            return total
    del t32
    return run(_abs_tensors(net, torch.float64), torch.float64)[1]


def _abs_tensors(net: nn.Module, dtype: torch.dtype) -> dict[str, Tensor]:
    """|p| for every parameter and floating buffer; identity values for BatchNorm's."""
    out: dict[str, Tensor] = {}
    for mod_name, mod in net.named_modules():
        for name, p in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
            if p is None or not p.is_floating_point():
                continue
            if isinstance(mod, _BN):
                fill = 0.0 if name in ("bias", "running_mean") else 1.0
                out[param_key(mod_name, name)] = torch.full_like(p, fill, dtype=dtype)
            else:
                out[param_key(mod_name, name)] = p.detach().to(dtype).abs().requires_grad_(isinstance(p, nn.Parameter))
    return out


@contextmanager
def _identity_batchnorm(bns: Sequence[_BN]) -> Iterator[None]:
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


def _synflow_pass(
    net: nn.Module,
    tensors: dict[str, Tensor],
    ctx: ProxyContext,
    dtype: torch.dtype,
    scale_exp: int = 0,
    forward_only: bool = False,
    *,
    weights: list[str] | None = None,
    biases: list[str] | None = None,
) -> tuple[float, float]:
    """(R, sum_l sum |W_l * dR/dW_l|), both unscaled, from one pass in ``dtype``.

    With ``scale_exp`` = k the input and every non-BatchNorm bias are multiplied by 2^-k and the
    backward is seeded with 2^-k instead of 1; R is multiplied back by 2^k and the sum by 2^2k.
    Returns inf for anything that overflowed (the sum is inf when the forward already did, and
    nan with ``forward_only``). ``weights`` / ``biases``: the names from :func:`_weight_names` /
    :func:`_bias_names`, passed in by a caller that runs several passes on the same network.
    """
    scale = 2.0 ** (-scale_exp)
    if scale_exp:
        tensors = dict(tensors)
        for name in _bias_names(net) if biases is None else biases:
            tensors[name] = tensors[name].detach() * scale
    x = torch.full((1, *ctx.images.shape[1:]), scale, dtype=dtype, device=ctx.device)
    with torch.set_grad_enabled(not forward_only):  # a probing forward keeps no graph
        out = main_output(functional_call(net, tensors, (x,)))
    r = math.ldexp(float(out.detach().sum(dtype=torch.float64)), scale_exp)
    if not bool(torch.isfinite(out).all()):
        return float("inf"), float("inf")
    if forward_only:
        return r, float("nan")
    ws = [tensors[n] for n in (_weight_names(net) if weights is None else weights)]
    grads = torch.autograd.grad(out, ws, grad_outputs=torch.full_like(out, scale), allow_unused=True)
    total = 0.0
    for w, g in zip(ws, grads):
        if g is not None:
            total += float(g.mul_(w.detach()).abs_().sum(dtype=torch.float64))  # in place: g is ours
    return r, math.ldexp(total, 2 * scale_exp) if math.isfinite(total) else float("inf")


def _weight_names(net: nn.Module) -> list[str]:
    """Names of the Conv2d / Linear weights (the terms of the score)."""
    return [param_key(n, "weight") for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _bias_names(net: nn.Module) -> list[str]:
    """Names of every bias parameter outside BatchNorm (BatchNorm is the identity here)."""
    return [
        param_key(mod_name, name)
        for mod_name, mod in net.named_modules()
        if not isinstance(mod, _BN)
        for name, p in mod.named_parameters(recurse=False)
        if name == "bias" and p is not None
    ]


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
