"""Class names and colour palettes of the supported datasets, and label colourisation."""

from __future__ import annotations

import torch

#: Value used for "ignore" pixels in every label map saswot produces.
IGNORE_INDEX = 255

CAMVID_CLASSES: tuple[str, ...] = (
    "Sky",
    "Building",
    "Pole",
    "Road",
    "Pavement",
    "Tree",
    "SignSymbol",
    "Fence",
    "Car",
    "Pedestrian",
    "Bicyclist",
)

#: Colours of the CamVid classes (the usual SegNet tutorial colours).
CAMVID_PALETTE: tuple[tuple[int, int, int], ...] = (
    (128, 128, 128),
    (128, 0, 0),
    (192, 192, 128),
    (128, 64, 128),
    (60, 40, 222),
    (128, 128, 0),
    (192, 128, 128),
    (64, 64, 128),
    (64, 0, 128),
    (64, 64, 0),
    (0, 128, 192),
)

CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road",
    "sidewalk",
    "building",
    "wall",
    "fence",
    "pole",
    "traffic light",
    "traffic sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "train",
    "motorcycle",
    "bicycle",
)

CITYSCAPES_PALETTE: tuple[tuple[int, int, int], ...] = (
    (128, 64, 128),
    (244, 35, 232),
    (70, 70, 70),
    (102, 102, 156),
    (190, 153, 153),
    (153, 153, 153),
    (250, 170, 30),
    (220, 220, 0),
    (107, 142, 35),
    (152, 251, 152),
    (70, 130, 180),
    (220, 20, 60),
    (255, 0, 0),
    (0, 0, 142),
    (0, 0, 70),
    (0, 60, 100),
    (0, 80, 100),
    (0, 0, 230),
    (119, 11, 32),
)

PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "camvid": CAMVID_PALETTE,
    "cityscapes": CITYSCAPES_PALETTE,
}


def colorize(label: torch.Tensor, palette: tuple[tuple[int, int, int], ...]) -> torch.Tensor:
    """Turn an H×W label map into a 3×H×W uint8 image; ignore (and unknown) pixels are black.

    Args:
        label: integer tensor of shape H×W.
        palette: one RGB triple per class.

    Returns:
        uint8 tensor of shape 3×H×W.
    """
    table = torch.zeros(256, 3, dtype=torch.uint8)
    table[: len(palette)] = torch.tensor(palette, dtype=torch.uint8)
    idx = label.long().clamp(0, 255)
    return table[idx].permute(2, 0, 1).contiguous()
