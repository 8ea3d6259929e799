"""TransNAS-Bench-101: architecture encodings and the segmentsemantic network builder."""

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
