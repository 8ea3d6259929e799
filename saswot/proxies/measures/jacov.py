"""jacov: Jacobian covariance score (Mellor et al. 2021 v1, ZC ``jacob_cov``)."""

from __future__ import annotations

import numpy as np

from saswot.proxies._spec import ProxyContext, Stat, register_proxy

#: Regulariser added to the eigenvalues.
K = 1e-5


def jacov_from_jacobian(jac: np.ndarray) -> float:
    """``-sum_i log(l_i + k) + 1/(l_i + k)`` over eigenvalues of corrcoef(J) (NaN if undefined)."""
    with np.errstate(all="ignore"):
        corr = np.corrcoef(jac.reshape(jac.shape[0], -1).astype(np.float64))
    if not np.all(np.isfinite(corr)):
        return float("nan")
    eig = np.linalg.eigvalsh(np.atleast_2d(corr))
    return float(-np.sum(np.log(eig + K) + 1.0 / (eig + K)))


@register_proxy("jacov", requires={Stat.INPUT_GRAD}, description="Jacobian covariance (eigvalsh of corrcoef)")
def jacov(ctx: ProxyContext) -> float:
    """Score from J = d(sum of all logits)/dx, one row per image."""
    grad = ctx.stats.input_grad
    if grad is None:
        return float("nan")
    return jacov_from_jacobian(grad.numpy())
