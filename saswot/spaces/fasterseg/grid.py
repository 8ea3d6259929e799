"""The FasterSeg grid's names and numbers: operators, width choices, scales, channel counts.

Torch-free, so that reading an arch file or a ground-truth file (and the errors they raise)
costs no torch import; :mod:`saswot.spaces.fasterseg.ops` builds the operators.
"""

from __future__ import annotations

from typing import Final

#: Base channel count of the space (``Fch``).
FCH: Final[int] = 12

#: Candidate operators in FasterSeg's index order (names are what arch files store).
PRIMITIVES: Final[tuple[str, ...]] = ("skip", "conv", "conv_downup", "conv_2x", "conv_2x_downup")

#: Operators a decoded network may contain (skip only means "delete this layer").
CELL_OPS: Final[tuple[str, ...]] = PRIMITIVES[1:]

#: Short codes used in canonical strings.
OP_CODES: Final[dict[str, str]] = {
    "skip": "s",
    "conv": "c1",
    "conv_downup": "z1",
    "conv_2x": "c2",
    "conv_2x_downup": "z2",
}

#: Width choices χ (channels = scale × χ); the multiplier is χ / 12.
WIDTH_CHOICES: Final[tuple[int, ...]] = (4, 6, 8, 10, 12)

#: Downsampling rate of each scale index j.
SCALES: Final[tuple[int, ...]] = (8, 16, 32)


def num_filters(scale: int, chi: int) -> int:
    """Channels of a feature at downsampling rate ``scale`` with width χ (``scale·χ``)."""
    return round(scale * FCH * chi / 12)
