"""saswot_minus: the searched SasWOT- proxy (paper Eq. 2).

score = sum over conv/linear layers of the number of elements where
softmax(W, dim=0) < ReLU(dL/dW). The softmax runs along dim 0 (output channels) as in the
EMQ code family: for a conv weight O x I x kh x kw each (i, u, v) column sums to 1 over O.
The per-layer reduction is a count (sum of the 0/1 indicator), summed over layers.
"""

from __future__ import annotations

import torch

from saswot.proxies.registry import ProxyContext, register_proxy


def saswot_minus_count(weight: torch.Tensor, grad: torch.Tensor) -> int:
    """Count of elements with softmax(W, dim=0) < relu(G) for one layer."""
    # softmax > 0, so softmax < relu(G) exactly when softmax < G (NaN compares false either way)
    return int(torch.count_nonzero(torch.softmax(weight.float(), dim=0) < grad.float()))


@register_proxy("saswot_minus", description="sum_l #[softmax(W_l, dim 0) < ReLU(dL/dW_l)]")
def saswot_minus(ctx: ProxyContext) -> float:
    """Paper Eq. 2 on the shared statistics."""
    return float(sum(saswot_minus_count(layer.weight, layer.grad) for layer in ctx.stats.layers))
