"""Structure features of a decoded FasterSeg network: where its cells, channels and compute sit.

The features are exact functions of the architecture (no network is built or run): cell counts,
mean output width (χ) and cell GMACs / parameters at each of the three grid scales (1/8, 1/16,
1/32), the operator mix, branch depths, the shared prefix, and the whole network's GMACs and
parameters at the budget's frame. They feed the trained rankers of the space
(:mod:`saswot.search.predictor`), where the architecture alone is a strong baseline.

Two feature sets (:data:`FEATURE_SETS`): ``structure`` (the 23 whole-network features above) and
``structure-paths``, which adds the shape of each branch (:func:`path_features`): its cells at
every scale it visits, its narrowest width at 1/16 and 1/32, and its depth in convolution layers.
"""

from __future__ import annotations

from saswot.errors import UnknownNameError
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.cost import arch_cost, components
from saswot.spaces.fasterseg.grid import SCALES

#: The frame at which compute features are counted (the search budget's).
FEATURE_RESOLUTION = (1024, 2048)
#: Cell operators, in the order of their count features.
OPS = ("conv", "conv_downup", "conv_2x", "conv_2x_downup")
#: Convolution layers along a branch per cell operator (a ``2x`` cell stacks two).
CONV_LAYERS = {"conv": 1, "conv_downup": 1, "conv_2x": 2, "conv_2x_downup": 2}
#: Named feature sets of the space's encodings; the first is the default.
FEATURE_SETS = ("structure", "structure-paths")


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


def path_feature_names() -> list[str]:
    """Names of :func:`path_features`, in order (``b16``: the branch ending at 1/16, and so on)."""
    names: list[str] = []
    for last, end in enumerate(SCALES):
        names += [f"b{end}_cells_s{s}" for s in SCALES[: last + 1]]
        names += [f"b{end}_minwidth_s{s}" for s in SCALES[1 : last + 1]]
        names.append(f"b{end}_conv_depth")
    return names + ["conv_layers"]


def path_features(arch: FasterSegArch) -> list[float]:
    """The shape of each branch (see :func:`path_feature_names`); zeros for a branch the network lacks.

    A branch's cells at a scale are those whose input is at that scale; its narrowest width at a
    scale is the fewest output channels of those cells; its depth counts convolution layers
    (:data:`CONV_LAYERS`). ``conv_layers`` counts them over the unique cells (shared ones once).
    """
    by_last = {b.last: cells for b, cells in zip(arch.branches, arch.branch_cells())}
    feats: list[float] = []
    for last in range(len(SCALES)):
        cells = by_last.get(last, [])
        feats += [float(sum(c.scale_in == s for c in cells)) for s in range(last + 1)]
        feats += [float(min((c.c_out for c in cells if c.scale_in == s), default=0)) for s in range(1, last + 1)]
        feats.append(float(sum(CONV_LAYERS[c.op] for c in cells)))
    feats.append(float(sum(CONV_LAYERS[c.op] for c in arch.unique_cells())))
    return feats


def feature_set_names(feature_set: str = FEATURE_SETS[0]) -> list[str]:
    """Names of the features of ``feature_set`` (:data:`FEATURE_SETS`), in order.

    Raises:
        UnknownNameError: an unknown feature set.
    """
    _check_set(feature_set)
    return feature_names() + (path_feature_names() if feature_set == "structure-paths" else [])


def feature_set(arch: FasterSegArch, feature_set: str = FEATURE_SETS[0], num_classes: int = 19) -> list[float]:
    """The features of ``arch`` in ``feature_set`` (:data:`FEATURE_SETS`).

    Raises:
        UnknownNameError: an unknown feature set.
    """
    _check_set(feature_set)
    feats = structure_features(arch, num_classes)
    return feats + (path_features(arch) if feature_set == "structure-paths" else [])


def _check_set(name: str) -> None:
    if name not in FEATURE_SETS:
        raise UnknownNameError(f"unknown FasterSeg feature set '{name}'; use one of: {', '.join(FEATURE_SETS)}")
