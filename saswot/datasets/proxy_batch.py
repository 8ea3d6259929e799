"""The batch every zero-cost proxy sees.

A registered dataset (:data:`saswot.datasets.DATASETS`; ``camvid`` is the default):
``batch_size`` train images drawn without replacement with a seeded generator, resized (bilinear,
no crop) to ``resolution`` and normalised with mean = std = 0.5 (NASLib's Taskonomy setting);
labels resized with nearest neighbour and mapped by the dataset (CamVid: void (11) ->
``ignore_index`` (255)). ``random``: Gaussian N(0, 1) images and uniformly random labels in
[0, num_classes).
The same (source, batch_size, resolution, num_classes, seed) always gives the same batch, so every
architecture is scored on the same data.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor

from saswot.datasets import DATASETS, get_dataset_info
from saswot.datasets.samples import read_image, read_label
from saswot.errors import InvalidArchError, SaswotError, UnknownNameError
from saswot.runtime.seeding import make_rng, torch_generator
from saswot.utils.paths import dataset_dir

#: The source that needs no data.
RANDOM = "random"
IGNORE_INDEX = 255


def proxy_sources() -> tuple[str, ...]:
    """Every proxy-batch source: ``random`` and the registered datasets."""

    return (*DATASETS.names(), RANDOM)


def dataset_available(name: str, data_root: str | os.PathLike[str] | None = None) -> bool:
    """True if the train split of dataset ``name`` is found under the data root (always True for ``random``)."""

    if name == RANDOM:
        return True
    info = get_dataset_info(name)
    try:
        info.list_samples(dataset_dir(name, data_root), "train")
    except SaswotError:
        return False
    return True


def camvid_available(data_root: str | os.PathLike[str] | None = None) -> bool:
    """True if ``<data-root>/camvid/train.txt`` exists."""
    return (dataset_dir("camvid", data_root) / "train.txt").is_file()


def _dataset_batch(
    name: str,
    batch_size: int,
    resolution: tuple[int, int],
    num_classes: int,
    seed: int,
    data_root: str | os.PathLike[str] | None,
) -> tuple[Tensor, Tensor]:

    info = get_dataset_info(name)
    if num_classes < info.num_classes:
        raise InvalidArchError(
            f"{name} labels use {info.num_classes} classes but the network predicts {num_classes}; "
            f"use a network with at least {info.num_classes} outputs or {{data}} random"
        )
    samples = info.list_samples(dataset_dir(name, data_root), "train")
    if batch_size > len(samples):
        raise InvalidArchError(f"batch size {batch_size} exceeds the {len(samples)} {name} train images")
    idx = make_rng(seed).choice(len(samples), size=batch_size, replace=False)
    images, labels = [], []
    for i in sorted(int(j) for j in idx):
        img = read_image(samples[i].image).float().div_(255.0).unsqueeze(0)
        img = F.interpolate(img, size=resolution, mode="bilinear", align_corners=False, antialias=True)
        images.append((img[0] - 0.5) / 0.5)
        lab = read_label(samples[i].label).float()[None, None]
        lab = F.interpolate(lab, size=resolution, mode="nearest")[0, 0]
        labels.append(info.label_map(lab.to(torch.uint8)))
    return torch.stack(images), torch.stack(labels).long()


def make_batch(
    source: str = "camvid",
    batch_size: int = 8,
    resolution: tuple[int, int] = (64, 64),
    num_classes: int = 17,
    seed: int = 0,
    data_root: str | os.PathLike[str] | None = None,
) -> tuple[Tensor, Tensor]:
    """Return ``(images N x 3 x H x W float32, labels N x H x W int64)``.

    Args:
        source: a registered dataset (real images + labels, e.g. ``"camvid"``) or ``"random"``
            (Gaussian images, random labels).
        batch_size: N.
        resolution: (H, W).
        num_classes: classes of the network (random labels are drawn below it).
        seed: selects the images / draws the random batch.
        data_root: data root (else ``$SASWOT_DATA``, else ``./data``).

    Raises:
        UnknownNameError: unknown source.
        DataNotFoundError: CamVid requested but not found (message says where to put it).
    """
    if batch_size < 1:
        raise InvalidArchError(f"batch size must be >= 1, got {batch_size}")
    h, w = (int(resolution[0]), int(resolution[1]))
    if source == RANDOM:
        gen = torch_generator(seed)
        images = torch.randn((batch_size, 3, h, w), generator=gen)
        labels = torch.randint(0, num_classes, (batch_size, h, w), generator=gen)
        return images, labels
    if source not in proxy_sources():
        raise UnknownNameError(f"unknown proxy data source '{source}'; use one of: {', '.join(proxy_sources())}")
    return _dataset_batch(source, batch_size, (h, w), num_classes, seed, data_root)
