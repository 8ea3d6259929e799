"""Structure features of a decoded FasterSeg network: where its cells, channels and compute sit.

The features are exact functions of the architecture (no network is built or run): cell counts,
mean output width (χ) and cell GMACs / parameters at each of the three grid scales (1/8, 1/16,
1/32), the operator mix, branch depths, the shared prefix, and the whole network's GMACs and
parameters at the budget's frame. They feed the trained rankers of the space
(:mod:`saswot.search.predictor`), where the architecture alone is a strong baseline.
"""

from __future__ import annotations

from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.cost import arch_cost, components
from saswot.spaces.fasterseg.grid import SCALES

#: The frame at which compute features are counted (the search budget's).
FEATURE_RESOLUTION = (1024, 2048)
#: Cell operators, in the order of their count features.
OPS = ("conv", "conv_downup", "conv_2x", "conv_2x_downup")


def feature_names() -> list[str]:
    """Names of :func:`structure_features`, in order."""
    names = ["gmacs", "params_m", "shared_cells", "depth_max", "depth_min"]
    for s in SCALES:
        names += [f"cells_s{s}", f"width_s{s}", f"gmacs_s{s}", f"params_m_s{s}"]
    names += [f"n_{op}" for op in OPS]
    names += ["gmacs_cells_frac_s8", "gmacs_stem_head"]
    return names


def structure_features(arch: FasterSegArch, num_classes: int = 19) -> list[float]:
    """The structure features of ``arch`` (see :func:`feature_names`).

    Cells are counted once when the branches share them; a cell belongs to the scale of its
    input. Compute features are at :data:`FEATURE_RESOLUTION` with ``num_classes`` outputs.
    """
    total = arch_cost(arch, FEATURE_RESOLUTION, num_classes)
    cells = arch.unique_cells()
    depths = [len(b.ops) for b in arch.branches]
    feats: dict[str, float] = {
        "gmacs": total.gmacs,
        "params_m": total.params_m,
        "shared_cells": float(arch.shared_prefix()),
        "depth_max": float(max(depths)),
        "depth_min": float(min(depths)),
    }
    cell_comps = [c for c in components(arch, FEATURE_RESOLUTION, num_classes) if c.part == "cells"]
    macs_by_scale = dict.fromkeys(range(len(SCALES)), 0.0)
    params_by_scale = dict.fromkeys(range(len(SCALES)), 0.0)
    for cell, comp in zip(cells, cell_comps):
        m, p = comp.macs_params()
        macs_by_scale[cell.scale_in] += m / 1e9
        params_by_scale[cell.scale_in] += p / 1e6
    for i, s in enumerate(SCALES):
        at = [c for c in cells if c.scale_in == i]
        feats[f"cells_s{s}"] = float(len(at))
        feats[f"width_s{s}"] = float(sum(c.c_out for c in at) / len(at)) if at else 0.0
        feats[f"gmacs_s{s}"] = macs_by_scale[i]
        feats[f"params_m_s{s}"] = params_by_scale[i]
    for op in OPS:
        feats[f"n_{op}"] = float(sum(c.op == op for c in cells))
    cell_macs = sum(macs_by_scale.values())
    feats["gmacs_cells_frac_s8"] = macs_by_scale[0] / cell_macs if cell_macs else 0.0
    feats["gmacs_stem_head"] = total.gmacs - cell_macs
    return [feats[n] for n in feature_names()]
