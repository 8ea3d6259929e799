"""Structure features of searched winners beside the labelled networks' median, and a linear predictor's weights.

    python benchmarks/winner_features.py saswot/data/fasterseg/table4-fair/predictor-camvid-v2-s*.json \
        --predictor saswot/data/fasterseg/predictor-camvid-v2.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from saswot.search.predictor import FittedPredictor
from saswot.spaces import get_space
from saswot.spaces.fasterseg.arch import load_arch

COLUMNS = ("depth_min", "depth_max", "shared_cells", "cells_s8", "cells_s16", "cells_s32", "width_s8", "gmacs",
           "params_m")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archs", type=Path, nargs="+", help="arch files (e.g. search-arch winners)")
    ap.add_argument("--predictor", type=Path, required=True, help="predictor file (its labelled networks)")
    ap.add_argument("--weights", type=int, default=8, help="largest standardised weights shown (ridge and rank)")
    args = ap.parse_args()
    pred = FittedPredictor.load(args.predictor)
    names = get_space(pred.space).encoding_names(pred.config.features or None)  # the predictor's feature set
    col = [names.index(c) for c in COLUMNS]
    lo, hi = pred.x.min(0), pred.x.max(0)
    print("| network | " + " | ".join(COLUMNS) + " | outside the labelled range |")
    print("| --- |" + " --- |" * (len(COLUMNS) + 1))
    for path in args.archs:
        x = pred.features(load_arch(path))[0]
        outside = [f"{names[i]} {x[i]:.2f} ({lo[i]:.2f}–{hi[i]:.2f})" for i in range(len(names))
                   if not lo[i] - 1e-9 <= x[i] <= hi[i] + 1e-9]
        print(f"| {path.stem} | " + " | ".join(f"{x[i]:.1f}" for i in col) + f" | {', '.join(outside) or '-'} |")
    med = np.median(pred.x, axis=0)
    print("| labelled networks (median) | " + " | ".join(f"{med[i]:.1f}" for i in col) + " | |")
    if pred.config.model == "ridge":
        ridge = pred.model._model[-1]  # the pipeline's RidgeCV (standardised features)
        order = np.argsort(-np.abs(ridge.coef_))[: args.weights]
        print(f"\nridge penalty {ridge.alpha_:.1f}; largest standardised weights: "
              + ", ".join(f"{names[k]} {ridge.coef_[k]:+.2f}" for k in order))
    elif pred.config.model == "rank":
        coef = pred.model._model.coef_  # the pairwise ranker's weights on standardised features
        order = np.argsort(-np.abs(coef))[: args.weights]
        print("\nrank model; largest standardised weights (log-odds of training better per standard deviation): "
              + ", ".join(f"{names[k]} {coef[k]:+.2f}" for k in order))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
