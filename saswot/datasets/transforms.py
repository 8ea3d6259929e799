"""Joint image/label transforms (torchvision transforms v2).

Labels travel as :class:`torchvision.tv_tensors.Mask`, so resizing them uses nearest
interpolation and padding uses the ignore value 255 while the image is padded with 0.
Randomness comes from torch's RNG; :class:`saswot.datasets.camvid.SegmentationDataset` seeds it
per sample (seed, epoch, index) inside a forked RNG, so augmentation is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from saswot.datasets.palette import IGNORE_INDEX

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


class RandomScale(v2.Transform):
    """Resize image and mask by a factor drawn uniformly from ``scales`` (mask: nearest)."""

    def __init__(self, scales: Sequence[float]) -> None:
        super().__init__()
        if not scales or any(s <= 0 for s in scales):
            raise ValueError(f"scales must be positive, got {scales}")
        self.scales = tuple(float(s) for s in scales)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        h, w = v2.query_size(flat_inputs)
        s = self.scales[int(torch.randint(len(self.scales), (1,)).item())]
        return {"size": [max(1, round(h * s)), max(1, round(w * s))]}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, (tv_tensors.Image, tv_tensors.Mask)):
            return F.resize(inpt, params["size"], antialias=True)
        return inpt


class Resize(v2.Transform):
    """Deterministic resize of image and mask to a fixed size (mask: nearest)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = list(size)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, (tv_tensors.Image, tv_tensors.Mask)):
            return F.resize(inpt, self.size, antialias=True)
        return inpt


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation: random scale, pad+crop (image 0 / label 255), horizontal flip.

    Attributes:
        crop: crop size (H, W).
        scales: random scale factors, one drawn per sample.
        base_size: optional (H, W) every sample is resized to before the random scale
            (SasWOT resizes CamVid crops; use it to train at reduced resolution).
        flip: whether to flip horizontally with p = 0.5.
    """

    crop: tuple[int, int]
    scales: tuple[float, ...] = (0.75, 1.0, 1.25)
    base_size: tuple[int, int] | None = None
    flip: bool = True


def _normalize(mean: Sequence[float], std: Sequence[float]) -> list[v2.Transform]:
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=list(mean), std=list(std))]


def train_transform(
    cfg: AugmentConfig,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> v2.Compose:
    """Build the joint training transform for (Image uint8, Mask) pairs."""
    steps: list[v2.Transform] = []
    if cfg.base_size is not None:
        steps.append(Resize(cfg.base_size))
    steps.append(RandomScale(cfg.scales))
    steps.append(
        v2.RandomCrop(
            list(cfg.crop),
            pad_if_needed=True,
            fill={tv_tensors.Image: 0, tv_tensors.Mask: IGNORE_INDEX},
        )
    )
    if cfg.flip:
        steps.append(v2.RandomHorizontalFlip(p=0.5))
    steps += _normalize(mean, std)
    return v2.Compose(steps)


def eval_transform(
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    size: tuple[int, int] | None = None,
) -> v2.Compose:
    """Evaluation transform: optional resize of the *image only*, then normalisation.

    The label is kept at full resolution (the metric is computed there); predictions are
    upsampled to the label size.
    """
    steps: list[v2.Transform] = []
    if size is not None:
        steps.append(_ImageOnlyResize(size))
    steps += _normalize(mean, std)
    return v2.Compose(steps)


def image_only_resize(size: tuple[int, int]) -> v2.Transform:
    """Deterministic resize of the image alone (labels stay at full resolution for the metric)."""
    return _ImageOnlyResize(size)


class _ImageOnlyResize(v2.Transform):
    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = list(size)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, tv_tensors.Image):
            return F.resize(inpt, self.size, antialias=True)
        return inpt
