"""Feature sets of the FasterSeg predictor compared on repeated splits, judged against two-seed means.

For every feature set of the space (``structure``, ``structure-paths``) a standardised ridge (the
``saswot predictor fit --model ridge`` model) is fitted on k random architectures of the ground
truth and ranks the rest that were trained with at least two seeds, against their seed mean (the
labels with the higher noise ceiling). The splits are the same for every set, so the difference is
paired. Architectures whose label matches ``--exclude`` are left out (a held-out sample).

    OMP_NUM_THREADS=1 python benchmarks/fasterseg_feature_sets.py --exclude '^g7-' \
        --out benchmarks/out/feature-sets

With ``--other-models``, other models on the ``structure-paths`` set are judged on the same
splits: a Gaussian process (RBF + linear + noise kernels on standardised features), the rank sum of
the ridge and that process, a random forest and gradient boosting.

Writes ``feature-sets.json`` and ``feature-sets.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, DotProduct, WhiteKernel
from sklearn.gaussian_process.kernels import ConstantKernel as C
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fasterseg_rankers import DATA, SHORT, load_truth, rank_ensemble

from saswot.search.predictor import FewShotPredictor, PredictorConfig
from saswot.spaces.fasterseg.features import FEATURE_SETS, feature_set
from saswot.utils.io import write_json, write_text

#: A model: (training features, labels) -> predictions of feature rows.
Model = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]


def _gp(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    kernel = C(1.0) * RBF(5.0) + WhiteKernel(0.5) + C(0.1) * DotProduct(1.0)
    scaler = StandardScaler().fit(x)
    gp = GaussianProcessRegressor(kernel, random_state=0).fit(scaler.transform(x), (y - y.mean()) / y.std())
    return lambda z: gp.predict(scaler.transform(z))


def _ridge(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return FewShotPredictor(PredictorConfig(model="ridge")).fit(x, y).predict


OTHER_MODELS: dict[str, Model] = {
    "gaussian process": _gp,
    "ridge + gaussian process (rank sum)": rank_ensemble([_ridge, _gp]),
    "random forest": lambda x, y: RandomForestRegressor(300, max_features=0.33, min_samples_leaf=3, random_state=0,
                                                        n_jobs=1).fit(x, y).predict,
    "gradient boosting": lambda x, y: GradientBoostingRegressor(n_estimators=300, learning_rate=0.03, max_depth=2,
                                                                subsample=0.8, random_state=0).fit(x, y).predict,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, nargs="*", default=[DATA / "minibench-camvid.jsonl"])
    ap.add_argument("--finished-before", default="",
                    help="only runs finished before this UTC time (ISO, e.g. 2026-12-07T04:21:57Z): the data as it was then")
    ap.add_argument("--exclude", default="^g7-", help="labels left out (regex; empty: none)")
    ap.add_argument("--ks", type=int, nargs="*", default=[32, 64, 128, 160])
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--other-models", action="store_true", help="also judge other models on structure-paths")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/feature-sets"))
    args = ap.parse_args()

    if args.finished_before:
        with tempfile.TemporaryDirectory(prefix="feature-sets-") as tmp:
            bench = []
            for i, f in enumerate(args.bench):
                lines = [ln for ln in f.read_text().splitlines(keepends=True)
                         if ln.strip() and json.loads(ln).get("finished_at", "") < args.finished_before]
                bench.append(Path(tmp) / f"{i}-{f.name}")
                bench[-1].write_text("".join(lines))
            gt = load_truth(bench, SHORT)
    else:
        gt = load_truth(args.bench, SHORT)
    pat = re.compile(args.exclude) if args.exclude else None
    keep = ~gt.held_out(pat) if pat else np.ones(len(gt.labels), dtype=bool)
    archs = [a for a, k in zip(gt.archs, keep) if k]
    y = gt.mean[keep]
    two = np.asarray([len(s) >= 2 for s in gt.seeds])[keep]
    x = {name: np.asarray([feature_set(a, name) for a in archs]) for name in FEATURE_SETS}
    config = PredictorConfig(model="ridge")
    rows: list[dict[str, object]] = []
    for k in args.ks:
        if k > len(y) - 8:
            continue
        others = OTHER_MODELS if args.other_models else {}
        taus: dict[str, list[float]] = {name: [] for name in FEATURE_SETS}
        other: dict[str, list[float]] = {name: [] for name in others}
        for r in range(args.repeats):
            perm = np.random.default_rng([args.seed, k, r]).permutation(len(y))
            train, test = perm[:k], perm[k:]
            test = test[two[test]]
            for name in FEATURE_SETS:
                pred = FewShotPredictor(config).fit(x[name][train], y[train]).predict(x[name][test])
                taus[name].append(float(stats.kendalltau(pred, y[test]).statistic))
            for name, model in others.items():
                xp = x[FEATURE_SETS[1]]
                other[name].append(float(stats.kendalltau(model(xp[train], y[train])(xp[test]), y[test]).statistic))
        diff = np.subtract(taus[FEATURE_SETS[1]], taus[FEATURE_SETS[0]])
        rows.append({
            "k": k,
            "repeats": args.repeats,
            **{name: {"mean": float(np.mean(t)), "std": float(np.std(t))} for name, t in taus.items()},
            "difference": {"mean": float(diff.mean()), "std": float(diff.std()), "wins": int((diff > 0).sum())},
            "other_models": {name: {"mean": float(np.mean(t)), "std": float(np.std(t))} for name, t in other.items()},
        })
        print(f"k = {k}: " + ", ".join(f"{n} {100 * np.mean(t):.1f}" for n, t in taus.items())
              + f", difference {100 * diff.mean():+.1f} ± {100 * diff.std():.1f}", flush=True)
    doc = {"archs": len(y), "two_seed_archs": int(two.sum()), "exclude": args.exclude,
           "finished_before": args.finished_before or None,
           "bench": [str(b) for b in args.bench], "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "feature-sets.json", doc)
    head = ("| k | " + " | ".join(FEATURE_SETS) + f" | {FEATURE_SETS[1]} − {FEATURE_SETS[0]} (splits won) |\n"
            + "| --- " * (len(FEATURE_SETS) + 2) + "|\n")
    body = "".join(
        f"| {r['k']} | " + " | ".join(f"{100 * r[n]['mean']:.1f} ± {100 * r[n]['std']:.1f}" for n in FEATURE_SETS)
        + f" | {100 * r['difference']['mean']:+.1f} ± {100 * r['difference']['std']:.1f} "
          f"({r['difference']['wins']}/{r['repeats']}) |\n"
        for r in rows
    )
    write_text(args.out / "feature-sets.md",
               f"Ridge, Kendall ×100 against two-seed means on the rest; {len(y)} architectures "
               f"({two.sum()} with two seeds), excluded: {args.exclude or 'none'}"
               + (f", runs finished before {args.finished_before}" if args.finished_before else "") + "\n\n" + head + body)
    if args.other_models:
        names = list(OTHER_MODELS)
        extra = ("\nOther models on structure-paths, the same splits:\n\n| k | ridge | " + " | ".join(names) + " |\n"
                 + "| --- " * (len(names) + 2) + "|\n"
                 + "".join(f"| {r['k']} | {100 * r[FEATURE_SETS[1]]['mean']:.1f} | "
                           + " | ".join(f"{100 * r['other_models'][n]['mean']:.1f} ± {100 * r['other_models'][n]['std']:.1f}"
                                        for n in names) + " |\n" for r in rows))
        write_text(args.out / "feature-sets.md", (args.out / "feature-sets.md").read_text() + extra)
    print((args.out / "feature-sets.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
