"""Segmentation datasets (CamVid SegNet layout, Cityscapes official layout) and transforms.

Use :func:`build_dataset` with a dataset name from :data:`DATASETS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from saswot.datasets.camvid import camvid_label_map, camvid_samples
from saswot.datasets.cityscapes import cityscapes_label_map, cityscapes_samples
from saswot.datasets.palette import (
    CAMVID_CLASSES,
    CAMVID_PALETTE,
    CITYSCAPES_CLASSES,
    CITYSCAPES_PALETTE,
    IGNORE_INDEX,
    colorize,
)
from saswot.datasets.samples import DecodedCache, Sample, SegmentationDataset, read_image, read_label
from saswot.datasets.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentConfig,
    Resize,
    eval_transform,
    image_only_resize,
    train_transform,
)
from saswot.registry import Registry
from saswot.utils.paths import dataset_dir


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset: classes, palette, how to list a split and map labels."""

    name: str
    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    list_samples: Callable[[Path, str], list[Sample]]
    label_map: Callable[[torch.Tensor], torch.Tensor]
    default_lr: float

    @property
    def num_classes(self) -> int:
        """Number of evaluated classes."""
        return len(self.class_names)


def _dataset_name(info: DatasetInfo) -> str:
    return info.name


def _unknown_dataset(name: str, valid: list[str]) -> str:
    return f"unknown dataset '{name}'; choose one of: {', '.join(sorted(valid))}."


#: Every dataset, by name: training, evaluation and (``--data NAME``) the proxy batch read them from here.
DATASETS: Registry[DatasetInfo] = Registry("dataset", key=_dataset_name, unknown=_unknown_dataset)


def register_dataset(info: DatasetInfo, *, replace: bool = False) -> DatasetInfo:
    """Add a dataset (its module calls this when imported); raises ValueError if the name is taken."""
    return DATASETS.add(info, replace=replace)


register_dataset(DatasetInfo("camvid", CAMVID_CLASSES, CAMVID_PALETTE, camvid_samples, camvid_label_map, 0.01))
register_dataset(
    DatasetInfo("cityscapes", CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, cityscapes_samples, cityscapes_label_map, 0.015)
)


def get_dataset_info(name: str) -> DatasetInfo:
    """Look up a dataset by name (UnknownNameError listing the choices)."""
    return DATASETS.get(name)


def build_dataset(
    name: str,
    split: str,
    data_root: str | os.PathLike[str] | None = None,
    transform: Callable[..., Any] | None = None,
    seed: int = 0,
    *,
    pre_transform: Callable[..., Any] | None = None,
    pre_key: str = "",
    cache: DecodedCache | None = None,
) -> SegmentationDataset:
    """Build the ``split`` of dataset ``name`` found under the data root.

    Args:
        name: ``camvid`` or ``cityscapes``.
        split: ``train``, ``val`` or ``test``.
        data_root: data root (else ``$SASWOT_DATA``, else ``./data``).
        transform: joint transform (see :mod:`saswot.datasets.transforms`).
        seed: augmentation seed.
        pre_transform: deterministic joint transform applied before ``transform``.
        pre_key: names ``pre_transform`` in ``cache`` keys.
        cache: decoded (and pre-transformed) samples kept across datasets of this process.

    Raises:
        UnknownNameError, DataNotFoundError, CorruptDataError.
    """
    info = get_dataset_info(name)
    samples = info.list_samples(dataset_dir(name, data_root), split)
    return SegmentationDataset(
        samples,
        info.label_map,
        transform,
        seed=seed,
        name=f"{name}/{split}",
        pre_transform=pre_transform,
        pre_key=pre_key,
        cache=cache,
    )


__all__ = [
    "DATASETS",
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "AugmentConfig",
    "DatasetInfo",
    "DecodedCache",
    "Resize",
    "Sample",
    "SegmentationDataset",
    "build_dataset",
    "colorize",
    "eval_transform",
    "get_dataset_info",
    "image_only_resize",
    "read_image",
    "read_label",
    "register_dataset",
    "train_transform",
]
