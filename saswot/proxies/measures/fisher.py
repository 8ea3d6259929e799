"""fisher: channel-wise Fisher saliency, broadcast to the weight shape and summed (ZC definition).

For every conv/linear output z and its gradient dL/dz: g_nk = sum_hw z_nkhw dL/dz_nkhw,
Delta_k = 0.5 * mean_n g_nk^2 (collected in the shared pass, see :mod:`saswot.proxies._stats`); the
per-channel value is broadcast to the k-th filter, so a layer contributes
sum_k |Delta_k| * fan_in with fan_in = C_in/groups * kh * kw.
"""

from __future__ import annotations

from saswot.proxies._spec import ProxyContext, Stat, register_proxy


@register_proxy("fisher", requires={Stat.LAYERS}, description="channel-wise Fisher saliency, broadcast to W, summed")
def fisher(ctx: ProxyContext) -> float:
    """Sum over layers of sum_k |Delta_k| * fan_in."""
    total = 0.0
    for layer in ctx.stats.layers:
        if layer.fisher is not None:
            total += float(layer.fisher.double().abs().sum()) * layer.fan_in
    return total
