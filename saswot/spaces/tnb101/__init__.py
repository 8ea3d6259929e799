"""TransNAS-Bench-101: architecture encodings and the segmentsemantic network builder.

The names below are imported on first use (:mod:`saswot.utils.lazy`): reading encodings or a
ground-truth file does not import torch.
"""

from typing import TYPE_CHECKING

from saswot.utils.lazy import lazy_namespace

if TYPE_CHECKING:
    from saswot.spaces.tnb101.builder import TNBSegmentationNet, build_network
    from saswot.spaces.tnb101.encoding import (
        MacroArch,
        MicroArch,
        TNBArch,
        all_macro_archs,
        all_micro_archs,
        arch_from_digits,
        parse_arch,
    )

__all__ = [
    "MacroArch",
    "MicroArch",
    "TNBArch",
    "TNBSegmentationNet",
    "all_macro_archs",
    "all_micro_archs",
    "arch_from_digits",
    "build_network",
    "parse_arch",
]

lazy_namespace(
    __name__,
    {
        **dict.fromkeys(["TNBSegmentationNet", "build_network"], "saswot.spaces.tnb101.builder"),
        **dict.fromkeys(
            [
                "MacroArch",
                "MicroArch",
                "TNBArch",
                "all_macro_archs",
                "all_micro_archs",
                "arch_from_digits",
                "parse_arch",
            ],
            "saswot.spaces.tnb101.encoding",
        ),
    },
)
