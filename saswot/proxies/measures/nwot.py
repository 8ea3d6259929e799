"""nwot: log|det K_H| of the binary-code kernel of ReLU pre-activations (Mellor et al. 2021)."""

from __future__ import annotations

import torch

from saswot.proxies._spec import ProxyContext, Stat, register_proxy


def logdet_kernel(kernel: torch.Tensor) -> float:
    """``log|det K|`` in float64 (``-inf`` when K is singular, e.g. two identical codes)."""
    return float(torch.linalg.slogdet(kernel.double()).logabsdet)


@register_proxy("nwot", requires={Stat.NWOT_KERNEL}, description="log|det K_H| (NWOT)")
def nwot(ctx: ProxyContext) -> float:
    """log|det K_H|, K_H accumulated over every ReLU-type module (see saswot.proxies._stats)."""
    kernel = ctx.stats.nwot_kernel
    if kernel is None or ctx.stats.relu_modules == 0:
        return float("nan")
    return logdet_kernel(kernel)
