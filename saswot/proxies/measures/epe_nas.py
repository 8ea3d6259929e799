"""epe_nas: per-class Jacobian correlation score (Lopes et al. 2021), adapted to segmentation.

Each image gets one label: the majority class over its valid (non-ignored) pixels; images without
a valid pixel are left out. n_classes is the number of output channels (``y.shape[1]``), not the
width (NASLib's bug for N x C x H x W outputs).
"""

from __future__ import annotations

import numpy as np
import torch

from saswot.proxies._spec import ProxyContext, Stat, register_proxy

EPS = 1e-5


def image_labels(labels: torch.Tensor, num_classes: int, ignore_index: int = 255) -> torch.Tensor:
    """Majority valid class per image (-1 if an image has no valid pixel)."""
    if labels.dim() == 1:
        return labels.long()
    flat = labels.reshape(labels.shape[0], -1).long()
    out = torch.full((labels.shape[0],), -1, dtype=torch.long)
    for i, row in enumerate(flat):
        valid = row[(row != ignore_index) & (row >= 0) & (row < num_classes)]
        if valid.numel():
            out[i] = int(torch.bincount(valid, minlength=num_classes).argmax())
    return out


def epe_from_jacobian(jac: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """EPE-NAS score from J (N x D) and per-image labels (N,)."""
    jac = jac.reshape(jac.shape[0], -1).astype(np.float64)
    per_class = []
    for c in sorted({int(v) for v in labels if v >= 0}):
        rows = jac[labels == c]
        with np.errstate(all="ignore"):
            corr = np.corrcoef(rows) if rows.shape[0] > 1 else np.array(1.0)
            s = float(np.sum(np.log(np.abs(corr) + EPS)))
        if num_classes > 100:
            if rows.shape[0] < 2:
                continue
            s /= rows.shape[0]
        per_class.append(s)
    if not per_class:
        return float("nan")
    if num_classes <= 100:
        return float(np.sum(np.abs(per_class)))
    arr = np.asarray(per_class)
    return float(np.sum(np.abs(arr[:, None] - arr[None, :])) / len(per_class))


@register_proxy(
    "epe_nas",
    requires={Stat.INPUT_GRAD},
    description="EPE-NAS (majority label per image)",
    nan_reason="undefined here: the input Jacobians of the images of one class do not vary (their correlation "
    "is 0/0) or no image has a valid label; a larger proxy batch, or real images (CamVid), usually gives "
    "each class images that differ",
)
def epe_nas(ctx: ProxyContext) -> float:
    """EPE-NAS on J = d(sum of logits)/dx grouped by each image's majority label."""
    grad = ctx.stats.input_grad
    if grad is None:
        return float("nan")
    lab = image_labels(ctx.labels.cpu(), ctx.num_classes, ctx.ignore_index).numpy()
    keep = lab >= 0
    if not keep.any():  # no image has a valid pixel: undefined (see nan_reason)
        return float("nan")
    return epe_from_jacobian(grad.numpy()[keep], lab[keep], ctx.num_classes)
