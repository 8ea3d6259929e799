"""Whole-split evaluation: confusion matrix at full label resolution, optional visualisations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision.io import write_png

from saswot.datasets.palette import colorize
from saswot.proxies._stats import main_output
from saswot.runtime.progress import track
from saswot.train.metrics import ConfusionMatrix
from saswot.utils.io import atomic_path


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, out_size: Sequence[int], amp: bool = False) -> torch.Tensor:
    """Logits of ``model`` on ``images`` upsampled (bilinear) to ``out_size``."""
    with torch.autocast(images.device.type, dtype=torch.float16, enabled=amp and images.device.type == "cuda"):
        logits = main_output(model(images))
    if tuple(logits.shape[-2:]) != tuple(out_size):
        logits = F.interpolate(logits.float(), size=tuple(out_size), mode="bilinear", align_corners=False)
    return logits.float()


def _denormalize(image: torch.Tensor, mean: Sequence[float], std: Sequence[float], size: Sequence[int]) -> torch.Tensor:
    m = torch.tensor(mean).view(3, 1, 1)
    s = torch.tensor(std).view(3, 1, 1)
    img = (image.cpu().float() * s + m).clamp(0, 1)
    if tuple(img.shape[-2:]) != tuple(size):
        img = F.interpolate(img[None], size=tuple(size), mode="bilinear", align_corners=False)[0]
    return (img * 255).round().to(torch.uint8)


def save_strip(
    path: str | os.PathLike[str],
    image: torch.Tensor,
    label: torch.Tensor,
    pred: torch.Tensor,
    palette: tuple[tuple[int, int, int], ...],
) -> None:
    """Write ``image | ground truth | prediction`` side by side as one PNG (atomically)."""
    strip = torch.cat([image, colorize(label, palette), colorize(pred, palette)], dim=2)
    with atomic_path(path) as tmp:
        write_png(strip, str(tmp))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    num_classes: int,
    device: torch.device,
    amp: bool = False,
    vis_dir: str | os.PathLike[str] | None = None,
    palette: tuple[tuple[int, int, int], ...] | None = None,
    normalization: dict[str, Sequence[float]] | None = None,
    progress: bool = True,
    channels_last: bool = False,
) -> dict[str, Any]:
    """Evaluate ``model`` over the whole ``loader`` (labels at full resolution).

    Args:
        model: the network (put in eval mode here).
        loader: yields ``(images, labels)``; images may be resized, labels are full size.
        num_classes: number of classes of the confusion matrix.
        device: where to run.
        amp: fp16 autocast on CUDA.
        vis_dir: if given, write one ``image | truth | prediction`` PNG per sample here.
        palette: colours for ``vis_dir``.
        normalization: ``{"mean", "std"}`` used to undo input normalisation for ``vis_dir``.
        progress: show a progress bar on stderr.
        channels_last: feed the inputs in channels-last memory format (a model trained so).

    Returns:
        ``{"miou", "per_class_iou" (list), "pixel_acc", "mean_class_acc", "num_images", "confusion"}``.
    """
    was_training = model.training
    model.eval()
    cm = ConfusionMatrix(num_classes)
    n = 0
    if vis_dir is not None:
        Path(vis_dir).mkdir(parents=True, exist_ok=True)
    for images, labels in track(loader, "evaluate", disable=not progress):
        images = images.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        # max(1).indices equals argmax(1) (first index on ties) and is several times faster on
        # the CPU, where argmax over the channel dimension of an NCHW tensor is a strided reduction
        pred = predict(model, images, labels.shape[-2:], amp).max(1).indices.cpu()
        cm.update(pred, labels)
        if vis_dir is not None and palette is not None and normalization is not None:
            for b in range(images.shape[0]):
                img = _denormalize(images[b], normalization["mean"], normalization["std"], labels.shape[-2:])
                save_strip(Path(vis_dir) / f"{n + b:05d}.png", img, labels[b], pred[b], palette)
        n += images.shape[0]
    model.train(was_training)
    return {
        "miou": cm.miou(),
        "per_class_iou": cm.per_class_iou(),
        "pixel_acc": cm.pixel_accuracy(),
        "mean_class_acc": cm.mean_class_accuracy(),
        "num_images": n,
        "confusion": cm.matrix.tolist(),
    }
