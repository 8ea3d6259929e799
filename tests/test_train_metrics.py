"""Confusion-matrix metrics against a hand-computed case; OHEM and distillation losses."""

from __future__ import annotations

import math

import pytest
import torch

from saswot.train.losses import LossConfig, OhemCrossEntropy, SegmentationLoss, distillation_loss
from saswot.train.metrics import ConfusionMatrix


def test_confusion_matrix_hand_computed() -> None:
    # 3 classes; 255 ignored
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 0]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 0]])
    cm = ConfusionMatrix(3)
    cm.update(pred[:1], target[:1])  # accumulated over two "images"
    cm.update(pred[1:], target[1:])
    assert cm.matrix.tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 1]]
    # IoU: c0 = 2/(3+3-2) = 0.5, c1 = 2/(2+3-2) = 2/3, c2 = 1/(2+1-1) = 0.5
    iou = cm.per_class_iou()
    assert iou == pytest.approx([0.5, 2 / 3, 0.5])
    assert cm.miou() == pytest.approx((0.5 + 2 / 3 + 0.5) / 3)
    assert cm.pixel_accuracy() == pytest.approx(5 / 7)
    assert cm.mean_class_accuracy() == pytest.approx((2 / 3 + 1 + 0.5) / 3)


def test_absent_class_is_nan_and_left_out_of_miou() -> None:
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([0, 1]), torch.tensor([0, 1]))
    assert math.isnan(cm.per_class_iou()[2])
    assert cm.miou() == 1.0


def test_ohem_keeps_hard_pixels_and_min_kept() -> None:
    logits = torch.zeros(1, 2, 1, 4)
    logits[0, 0, 0, :] = torch.tensor([10.0, 8.0, -10.0, 0.0])  # pixels 0,1 easy; 2 hard; 3 p=0.5
    target = torch.zeros(1, 1, 4, dtype=torch.long)
    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none")[0, 0]
    loss = OhemCrossEntropy(thresh=0.7, min_kept=0)(logits, target)
    assert loss.item() == pytest.approx(ce[2:].mean().item(), rel=1e-5)
    # min_kept larger than the hard set: the threshold is raised to keep 3 pixels
    loss3 = OhemCrossEntropy(thresh=0.7, min_kept=3)(logits, target)
    assert loss3.item() == pytest.approx(ce.sort().values[1:].mean().item(), rel=1e-5)
    # all pixels ignored → zero loss, still differentiable
    z = OhemCrossEntropy()(logits.requires_grad_(), torch.full((1, 1, 4), 255))
    assert z.item() == 0.0
    z.backward()


def test_distillation_term() -> None:
    s = torch.randn(2, 5, 4, 4)
    assert distillation_loss(s, s.clone()).item() == pytest.approx(0.0, abs=1e-6)
    t = torch.randn(2, 5, 2, 2)  # resized to the student size
    assert distillation_loss(s, t, temperature=2.0).item() > 0.0
    loss_fn = SegmentationLoss(LossConfig(aux_weight=0.2))
    target = torch.randint(0, 5, (2, 4, 4))
    total, parts = loss_fn((s, s, s), target, teacher_logits=t)
    assert set(parts) == {"ce", "aux", "kd", "loss"}
    assert total.item() == pytest.approx(parts["ce"] + 0.2 * parts["aux"] + parts["kd"], rel=1e-5)
