"""A segmentation dataset as a list of (image, label) files plus a joint transform."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.io import ImageReadMode, decode_image, read_file

from saswot.errors import CorruptDataError


@dataclass(frozen=True)
class Sample:
    """One entry of a split: image file, label file."""

    image: Path
    label: Path


def read_image(path: Path) -> torch.Tensor:
    """Decode a JPEG/PNG as a 3×H×W uint8 RGB tensor (CorruptDataError if unreadable)."""
    try:
        return decode_image(read_file(str(path)), mode=ImageReadMode.RGB)
    except (RuntimeError, ValueError, OSError) as exc:
        raise CorruptDataError(
            f"cannot decode image '{path}' ({exc}). Re-download the dataset or remove the file from the split list."
        ) from exc


def read_label(path: Path) -> torch.Tensor:
    """Decode a single-channel label PNG as an H×W uint8 tensor (CorruptDataError if unreadable)."""
    try:
        lab = decode_image(read_file(str(path)), mode=ImageReadMode.UNCHANGED)
    except (RuntimeError, ValueError, OSError) as exc:
        raise CorruptDataError(
            f"cannot decode label '{path}' ({exc}). Re-download the dataset or remove the file from the split list."
        ) from exc
    if lab.shape[0] != 1:
        raise CorruptDataError(
            f"label '{path}' has {lab.shape[0]} channels; expected a single-channel (class index) PNG."
        )
    return lab[0]


class DecodedCache:
    """Decoded samples kept in memory across epochs and runs of one process.

    A training recipe decodes the same JPEG/PNG files and applies the same deterministic resize
    to them every epoch; this cache keeps the result (image and label as uint8 tensors), keyed by
    the files and the name of the deterministic step, so each file is decoded once per process.
    What follows the cached step (random scale, crop, flip, normalisation) is unchanged, so a
    cached run gives bit-identical batches. Datasets read by DataLoader worker processes fill
    their own copies (use ``workers=0`` to share one cache).

    Attributes:
        entries: ``{(image path, label path, step): (image uint8 3×H×W, label uint8 H×W)}``.
    """

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], tuple[torch.Tensor, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def nbytes(self) -> int:
        """Memory held by the cached tensors."""
        return sum(i.numel() * i.element_size() + l.numel() * l.element_size() for i, l in self.entries.values())


class SegmentationDataset(Dataset):
    """(image, label) pairs with a joint transform and per-sample reproducible augmentation.

    Args:
        samples: the split's files.
        label_map: maps the raw label tensor (uint8 H×W) to class indices with 255 = ignore.
        transform: joint v2 transform taking ``(Image, Mask)``; returns float image, mask.
        seed: augmentation seed; sample ``i`` of epoch ``e`` always gets the same augmentation.
        name: dataset name (for messages).
        pre_transform: a deterministic joint transform applied before ``transform`` (e.g. a fixed
            resize); with ``cache`` its output is computed once per file.
        pre_key: names ``pre_transform`` in the cache's keys (two different steps must differ).
        cache: keeps decoded (and pre-transformed) samples across datasets and epochs.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        label_map: Callable[[torch.Tensor], torch.Tensor],
        transform: Callable[..., Any] | None = None,
        seed: int = 0,
        name: str = "dataset",
        *,
        pre_transform: Callable[..., Any] | None = None,
        pre_key: str = "",
        cache: DecodedCache | None = None,
    ) -> None:
        self.samples = list(samples)
        self.label_map = label_map
        self.transform = transform
        self.seed = int(seed)
        self.epoch = 0
        self.name = name
        self.pre_transform = pre_transform
        self.pre_key = pre_key
        self.cache = cache

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``epoch`` (call before building the epoch's loader)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw (3×H×W uint8 image, H×W int64 label with 255 = ignore) without transforms."""
        s = self.samples[index]
        image = read_image(s.image)
        label = self.label_map(read_label(s.label))
        if image.shape[1:] != label.shape:
            raise CorruptDataError(
                f"image '{s.image}' is {tuple(image.shape[1:])} but label '{s.label}' is "
                f"{tuple(label.shape)}; image and label must have the same size."
            )
        return image, label.long()

    def _prepared(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The sample after decoding and ``pre_transform`` (from the cache when there is one)."""
        s = self.samples[index]
        key = (str(s.image), str(s.label), self.pre_key)
        if self.cache is not None and key in self.cache.entries:
            image, label = self.cache.entries[key]
            return image, label.long()
        image, label = self.load(index)
        if self.pre_transform is not None:
            img_t, mask_t = self.pre_transform(tv_tensors.Image(image), tv_tensors.Mask(label))
            image, label = img_t.as_subclass(torch.Tensor), mask_t.as_subclass(torch.Tensor)
        if self.cache is not None:
            self.cache.entries[key] = (image.contiguous(), label.to(torch.uint8).contiguous())
        return image, label

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = self._prepared(index)
        img_t, mask_t = tv_tensors.Image(image), tv_tensors.Mask(label)
        if self.transform is not None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed((self.seed * 1_000_003 + self.epoch) * 1_000_033 + index)
                img_t, mask_t = self.transform(img_t, mask_t)
        else:
            img_t = img_t.float() / 255.0
        return img_t.as_subclass(torch.Tensor), mask_t.as_subclass(torch.Tensor).long()
