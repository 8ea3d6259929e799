"""Confusion-matrix segmentation metrics (accumulated over a whole split)."""

from __future__ import annotations

import math

import torch

from saswot.datasets.palette import IGNORE_INDEX


class ConfusionMatrix:
    """K×K confusion matrix; rows = ground truth, columns = prediction.

    Pixels whose label is ``ignore_index`` (or outside 0..K-1) are skipped.
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX) -> None:
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of predictions (class indices) and labels of the same shape."""
        if pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
        k = self.num_classes
        t = target.reshape(-1).to("cpu", torch.int64)
        p = pred.reshape(-1).to("cpu", torch.int64)
        keep = (t >= 0) & (t < k) & (t != self.ignore_index)
        idx = t[keep] * k + p[keep].clamp(0, k - 1)
        self.matrix += torch.bincount(idx, minlength=k * k).reshape(k, k)

    def per_class_iou(self) -> list[float]:
        """IoU per class; NaN for a class absent from both labels and predictions."""
        m = self.matrix.double()
        tp = m.diag()
        denom = m.sum(0) + m.sum(1) - tp
        return [float(tp[i] / denom[i]) if denom[i] > 0 else math.nan for i in range(self.num_classes)]

    def miou(self) -> float:
        """Mean IoU over classes that occur (NaN classes are left out, like ``nanmean``)."""
        vals = [v for v in self.per_class_iou() if not math.isnan(v)]
        return sum(vals) / len(vals) if vals else math.nan

    def pixel_accuracy(self) -> float:
        """Fraction of labelled pixels predicted correctly."""
        total = int(self.matrix.sum())
        return float(self.matrix.diag().sum()) / total if total else math.nan

    def mean_class_accuracy(self) -> float:
        """Mean over classes of per-class recall (classes without labelled pixels left out)."""
        m = self.matrix.double()
        rows = m.sum(1)
        vals = [float(m[i, i] / rows[i]) for i in range(self.num_classes) if rows[i] > 0]
        return sum(vals) / len(vals) if vals else math.nan
