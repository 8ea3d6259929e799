"""Cityscapes in its official layout; labelIds are mapped to the 19 trainIds (ignore 255)."""

from __future__ import annotations

from pathlib import Path

import torch

from saswot.datasets.palette import IGNORE_INDEX
from saswot.datasets.samples import Sample
from saswot.errors import CorruptDataError
from saswot.utils.paths import require_path

NUM_CLASSES = 19

#: labelId → trainId for the 19 evaluated classes; every other id is ignored.
LABEL_TO_TRAIN: dict[int, int] = {
    7: 0,
    8: 1,
    11: 2,
    12: 3,
    13: 4,
    17: 5,
    19: 6,
    20: 7,
    21: 8,
    22: 9,
    23: 10,
    24: 11,
    25: 12,
    26: 13,
    27: 14,
    28: 15,
    31: 16,
    32: 17,
    33: 18,
}


def _lookup() -> torch.Tensor:
    table = torch.full((256,), IGNORE_INDEX, dtype=torch.long)
    for label_id, train_id in LABEL_TO_TRAIN.items():
        table[label_id] = train_id
    return table


_TABLE = _lookup()


def cityscapes_label_map(label: torch.Tensor) -> torch.Tensor:
    """Map a labelIds map (uint8) to trainIds (0–18, 255 = ignore)."""
    return _TABLE[label.long()]


def cityscapes_samples(root: Path, split: str) -> list[Sample]:
    """Pair ``leftImg8bit/{split}/{city}/*_leftImg8bit.png`` with ``gtFine/.../*_gtFine_labelIds.png``.

    Raises:
        DataNotFoundError: a folder or a matching label file is missing.
        CorruptDataError: the split folder holds no images.
    """
    require_path(root, "cityscapes", "Cityscapes folder")
    img_dir = require_path(root / "leftImg8bit" / split, "cityscapes", f"Cityscapes leftImg8bit/{split}")
    gt_dir = require_path(root / "gtFine" / split, "cityscapes", f"Cityscapes gtFine/{split}")
    samples: list[Sample] = []
    for img in sorted(img_dir.glob("*/*_leftImg8bit.png")):
        stem = img.name[: -len("_leftImg8bit.png")]
        lab = gt_dir / img.parent.name / f"{stem}_gtFine_labelIds.png"
        require_path(lab, "cityscapes", f"Cityscapes label for {img.name}")
        samples.append(Sample(img, lab))
    if not samples:
        raise CorruptDataError(
            f"no '*_leftImg8bit.png' files under '{img_dir}/<city>/'. Unpack leftImg8bit_trainvaltest.zip there."
        )
    return samples
