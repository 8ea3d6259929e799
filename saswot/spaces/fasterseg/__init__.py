"""FasterSeg search space: decoded architectures, builder, genome/decoder, cost model, search.

Typical use::

    from saswot.spaces.fasterseg import load_arch, build_network, arch_cost
    arch = load_arch("fasterseg")              # or the path of an arch JSON (search-arch output)
    net = build_network(arch, num_classes=19)  # N×3×H×W -> N×19×H×W
    arch_cost(arch, (1024, 2048))              # params (M), GMACs

The names are imported on first use (:mod:`saswot.utils.lazy`): listing the spaces does not import torch.
"""

from typing import TYPE_CHECKING

from saswot.utils.lazy import lazy_namespace

if TYPE_CHECKING:
    from saswot.spaces.fasterseg.arch import Branch, Cell, FasterSegArch, builtin_names, load_arch, save_arch
    from saswot.spaces.fasterseg.builder import FasterSegNet, build_network
    from saswot.spaces.fasterseg.cost import ArchCost, arch_cost, components
    from saswot.spaces.fasterseg.decode import SpaceConfig, decode, legality_errors
    from saswot.spaces.fasterseg.genome import Genome, sample_genome
    from saswot.spaces.fasterseg.latency import LatencyTable, measure_latency

__all__ = [
    "ArchCost",
    "Branch",
    "Cell",
    "FasterSegArch",
    "FasterSegNet",
    "Genome",
    "LatencyTable",
    "SpaceConfig",
    "arch_cost",
    "build_network",
    "builtin_names",
    "components",
    "decode",
    "legality_errors",
    "load_arch",
    "measure_latency",
    "sample_genome",
    "save_arch",
]

lazy_namespace(
    __name__,
    {
        **dict.fromkeys(
            ["Branch", "Cell", "FasterSegArch", "builtin_names", "load_arch", "save_arch"],
            "saswot.spaces.fasterseg.arch",
        ),
        **dict.fromkeys(["FasterSegNet", "build_network"], "saswot.spaces.fasterseg.builder"),
        **dict.fromkeys(["ArchCost", "arch_cost", "components"], "saswot.spaces.fasterseg.cost"),
        **dict.fromkeys(["SpaceConfig", "decode", "legality_errors"], "saswot.spaces.fasterseg.decode"),
        **dict.fromkeys(["Genome", "sample_genome"], "saswot.spaces.fasterseg.genome"),
        **dict.fromkeys(["LatencyTable", "measure_latency"], "saswot.spaces.fasterseg.latency"),
    },
)
