"""Training losses: OHEM cross-entropy, auxiliary heads and knowledge distillation.

Distillation is one more term of the same loss (:class:`SegmentationLoss`), not another loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from saswot.datasets.palette import IGNORE_INDEX


class OhemCrossEntropy(nn.Module):
    """Online hard example mining cross-entropy (FasterSeg's ``ProbOhemCrossEntropy2d``).

    Keeps pixels whose predicted probability of the true class is ≤ ``thresh``; if fewer than
    ``min_kept`` pixels qualify, the threshold is raised to the ``min_kept``-th smallest
    probability so that at least ``min_kept`` pixels are kept.

    Args:
        thresh: probability threshold (0.7 in FasterSeg).
        min_kept: minimum number of kept pixels; ``None`` means B·H·W/16 per batch.
        ignore_index: label value excluded from the loss.
    """

    def __init__(self, thresh: float = 0.7, min_kept: int | None = None, ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        self.thresh = float(thresh)
        self.min_kept = min_kept
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pixel_loss = F.cross_entropy(logits.float(), target, ignore_index=self.ignore_index, reduction="none")
        valid = target != self.ignore_index
        n_valid = int(valid.sum())
        if n_valid == 0:
            return logits.sum() * 0.0
        min_kept = self.min_kept if self.min_kept is not None else target.numel() // 16
        # probability of the true class = exp(-CE)
        prob = torch.exp(-pixel_loss.detach())[valid]
        threshold = self.thresh
        if min_kept > 0:
            k = min(n_valid, min_kept)
            kth = torch.kthvalue(prob, k).values.item()
            threshold = max(threshold, kth)
        keep = valid & (torch.exp(-pixel_loss.detach()) <= threshold)
        return pixel_loss[keep].sum() / keep.sum().clamp(min=1)


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Per-pixel KL divergence KL(p_teacher ‖ p_student) of softened logits, times T².

    The KL is summed over classes and averaged over pixels (so its scale does not depend
    on the number of classes). Teacher logits are resized to the student's size if needed.
    """
    if teacher.shape[-2:] != student.shape[-2:]:
        teacher = F.interpolate(teacher, size=student.shape[-2:], mode="bilinear", align_corners=False)
    t = float(temperature)
    log_p_s = F.log_softmax(student.float() / t, dim=1)
    log_p_t = F.log_softmax(teacher.float() / t, dim=1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
    return kl.mean() * t * t


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms (FasterSeg: aux 0.2 each, KD weight 1, OHEM 0.7)."""

    ohem_thresh: float = 0.7
    ohem_min_kept: int | None = None
    aux_weight: float = 0.2
    kd_weight: float = 1.0
    kd_temperature: float = 1.0


class SegmentationLoss(nn.Module):
    """OHEM CE on the main logits + ``aux_weight`` × OHEM CE on each auxiliary head + KD term.

    ``outputs`` is a tensor (main logits) or a tuple ``(main, aux1, aux2, ...)``; every logit
    map is upsampled to the label size first. ``teacher_logits`` (optional) adds the
    distillation term on the main logits.
    """

    def __init__(self, cfg: LossConfig = LossConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.ce = OhemCrossEntropy(cfg.ohem_thresh, cfg.ohem_min_kept)

    def forward(
        self,
        outputs: torch.Tensor | tuple[torch.Tensor, ...],
        target: torch.Tensor,
        teacher_logits: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the total loss and its parts (as floats, for logging)."""
        outs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        size = target.shape[-2:]
        outs = tuple(
            o if o.shape[-2:] == size else F.interpolate(o, size=size, mode="bilinear", align_corners=False)
            for o in outs
        )
        main = self.ce(outs[0], target)
        total = main
        parts = {"ce": float(main.detach())}
        if len(outs) > 1:
            aux = sum(self.ce(o, target) for o in outs[1:])
            total = total + self.cfg.aux_weight * aux
            parts["aux"] = float(aux.detach())
        if teacher_logits is not None:
            kd = distillation_loss(outs[0], teacher_logits, self.cfg.kd_temperature)
            total = total + self.cfg.kd_weight * kd
            parts["kd"] = float(kd.detach())
        parts["loss"] = float(total.detach())
        return total, parts
