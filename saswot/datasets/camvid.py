"""CamVid in the SegNet layout: ``{split}.txt`` lines ``image_path label_path`` (relative)."""

from __future__ import annotations

from pathlib import Path

import torch

from saswot.datasets.palette import IGNORE_INDEX
from saswot.datasets.samples import Sample
from saswot.errors import CorruptDataError
from saswot.utils.paths import require_path

NUM_CLASSES = 11
VOID = 11


def camvid_label_map(label: torch.Tensor) -> torch.Tensor:
    """Classes 0–10 stay, void (11) and anything above become 255 (ignore)."""
    out = label.long()
    return torch.where(out >= NUM_CLASSES, torch.full_like(out, IGNORE_INDEX), out)


def camvid_samples(root: Path, split: str) -> list[Sample]:
    """Parse ``root/{split}.txt`` and check that every listed file exists.

    Raises:
        DataNotFoundError: the folder, the list file or a listed file is missing.
        CorruptDataError: a line does not have exactly two fields.
    """
    require_path(root, "camvid", "CamVid folder")
    listing = require_path(root / f"{split}.txt", "camvid", f"CamVid '{split}' split list")
    samples: list[Sample] = []
    for lineno, raw in enumerate(listing.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise CorruptDataError(
                f"{listing}:{lineno}: expected 'image_path label_path', got {line!r}. "
                "Fix the line or re-download the split list."
            )
        img, lab = (root / p.lstrip("/") for p in parts)
        require_path(img, "camvid", f"CamVid image listed at {listing.name}:{lineno}")
        require_path(lab, "camvid", f"CamVid label listed at {listing.name}:{lineno}")
        samples.append(Sample(img, lab))
    if not samples:
        raise CorruptDataError(f"split list '{listing}' is empty. Re-download the dataset.")
    return samples
