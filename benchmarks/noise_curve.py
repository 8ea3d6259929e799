"""How the shipped ranker's Kendall grows with the seeds averaged into the labels, measured and predicted.

The samples trained with three seeds are ranked, each by the shipped configuration (the pairwise
ranker on ``structure-paths``, clipped) fitted on the two-seed means of the other samples' networks
(samples matching ``--exclude`` are left out altogether). For K = 1, 2, 3 the Kendall τ against
K-seed means is measured, averaged over the samples and over every choice of K of the three seeds.
The noise model (one seed's reliability from the seed pairs' mean τ through the bivariate-normal
link; a K-seed mean's by Spearman-Brown) predicts the whole curve from the one-seed figure alone:
τ_K = 2/π·asin(ρ·√rel_K), where ρ is the ranking's correlation with noise-free labels; and the
ceiling, the τ of the noise-free ranking itself against K-seed means. The measured two- and
three-seed points are then an out-of-sample check of the model. Bootstrap intervals resample the
networks of every sample (stratified).

    OMP_NUM_THREADS=1 python benchmarks/noise_curve.py --exclude '^g1[23]-' --out benchmarks/out/noise-curve

Writes ``noise-curve.json``, ``noise-curve.md`` and ``noise-curve.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fasterseg_model_scan import config_candidate
from fasterseg_rankers import DATA, SHORT, kendall, load_truth, rho_from_tau, spearman_brown, tau_from_rho

from saswot.utils.io import write_json, write_text

SEEDS = 3
#: K of the predicted curve.
K_MAX = 10


def curve(preds: list[np.ndarray], seeds: list[np.ndarray]) -> dict[str, list[float] | float]:
    """Measured τ against K-seed means (K = 1..3), the one-seed reliability, and the predictions."""
    measured = []
    for k in range(1, SEEDS + 1):
        vals = [kendall(p, s[:, list(c)].mean(axis=1)) for p, s in zip(preds, seeds)
                for c in itertools.combinations(range(SEEDS), k)]
        measured.append(float(np.mean(vals)))
    tau_ss = float(np.mean([kendall(s[:, a], s[:, b]) for s in seeds for a, b in itertools.combinations(range(SEEDS), 2)]))
    rel1 = max(1e-9, rho_from_tau(tau_ss))
    rho_true = min(1.0, rho_from_tau(measured[0]) / math.sqrt(rel1))
    ks = range(1, K_MAX + 1)
    return {"measured": measured, "tau_seed_pairs": tau_ss, "reliability_one_seed": rel1,
            "noise_free": tau_from_rho(rho_true),
            "predicted": [tau_from_rho(rho_true * math.sqrt(spearman_brown(rel1, k))) for k in ks],
            "ceiling": [tau_from_rho(math.sqrt(spearman_brown(rel1, k))) for k in ks]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, nargs="*", default=[DATA / "minibench-camvid.jsonl"])
    ap.add_argument("--exclude", default="^g1[23]-", help="labels of samples left out altogether (regex; empty: none)")
    ap.add_argument("--seed", type=int, default=0, help="model and bootstrap seed")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/noise-curve"))
    args = ap.parse_args()

    gt = load_truth(args.bench, SHORT)
    excluded = gt.held_out(re.compile(args.exclude)) if args.exclude else np.zeros(len(gt.labels), dtype=bool)
    samples_of = [{p.split("-")[0] for p in lab.split("+")} for lab in gt.labels]
    two = [i for i in range(len(gt.labels)) if not excluded[i] and 0 in gt.seeds[i] and 1 in gt.seeds[i]]
    three = {i for i in two if all(s in gt.seeds[i] for s in range(SEEDS))}
    groups = sorted({g for i in three for g in samples_of[i]}, key=lambda g: int(g[1:]))
    cand = config_candidate("rank", "structure-paths", True)
    x = np.asarray([cand.features(gt.archs[i]) for i in two])
    y = np.asarray([(gt.seeds[i][0] + gt.seeds[i][1]) / 2 for i in two])
    preds, seeds, sizes = [], [], {}
    for g in groups:
        train = np.asarray([g not in samples_of[i] for i in two])
        test = [k for k, i in enumerate(two) if i in three and samples_of[i] == {g}]
        if len(test) < 5:
            continue
        model = cand.make(args.seed).fit(x[train], y[train])
        preds.append(model.predict(x[test]))
        seeds.append(np.asarray([[gt.seeds[two[k]][s] for s in range(SEEDS)] for k in test]))
        sizes[g] = {"test": len(test), "train": int(train.sum())}
    if not preds:
        print("no sample has networks trained with three seeds; nothing to measure")
        return 2
    point = curve(preds, seeds)
    rng = np.random.default_rng(args.seed)
    draws = []
    for _ in range(args.boot):
        rows = [rng.integers(0, len(s), len(s)) for s in seeds]
        draws.append(curve([p[r] for p, r in zip(preds, rows)], [s[r] for s, r in zip(seeds, rows)]))

    def ci(key: str, j: int | None = None) -> list[float]:
        v = [d[key][j] if j is not None else d[key] for d in draws]  # type: ignore[index]
        return [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))]

    k_seen = list(range(1, SEEDS + 1))
    doc = {"samples": sizes, "exclude": args.exclude or None, "model": cand.what, **point,
           "measured_ci95": [ci("measured", j) for j in range(SEEDS)], "noise_free_ci95": ci("noise_free"),
           "predicted_ci95": [ci("predicted", j) for j in range(K_MAX)]}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "noise-curve.json", doc)
    which = ", ".join(f"{g} ({v['test']} networks)" for g, v in sizes.items())
    md = [f"Shipped configuration, each sample ranked by a model fitted on the others' two-seed means; samples "
          f"{which}; seed pairs agree at a mean "
          f"τ = {point['tau_seed_pairs']:.3f} (one seed's reliability {point['reliability_one_seed']:.3f}).", "",
          "| labels: mean of K seeds | measured Kendall ×100 (95 % CI) | predicted from K = 1 (95 % CI) | ceiling |",
          "| --- | --- | --- | --- |"]
    for j in range(K_MAX):
        meas = (f"{100 * point['measured'][j]:.1f} ({100 * doc['measured_ci95'][j][0]:.1f}–"
                f"{100 * doc['measured_ci95'][j][1]:.1f})") if j < SEEDS else "–"
        md.append(f"| {j + 1} | {meas} | {100 * point['predicted'][j]:.1f} ({100 * doc['predicted_ci95'][j][0]:.1f}–"
                  f"{100 * doc['predicted_ci95'][j][1]:.1f}) | {100 * point['ceiling'][j]:.1f} |")
    md += ["", f"Against noise-free labels (K → ∞): {100 * point['noise_free']:.1f} "
               f"({100 * doc['noise_free_ci95'][0]:.1f}–{100 * doc['noise_free_ci95'][1]:.1f})."]
    fig = Figure(figsize=(5.0, 3.6), dpi=120)
    ax = fig.add_subplot()
    ks = np.arange(1, K_MAX + 1)
    lo, hi = np.asarray(doc["predicted_ci95"]).T
    ax.fill_between(ks, 100 * lo, 100 * hi, alpha=0.2, label="predicted from one seed (95 % CI)")
    ax.plot(ks, 100 * np.asarray(point["predicted"]), "-")
    ax.plot(ks, 100 * np.asarray(point["ceiling"]), "--", c="grey", label="ceiling of K-seed labels")
    m_lo, m_hi = np.asarray(doc["measured_ci95"]).T
    mv = 100 * np.asarray(point["measured"])
    ax.errorbar(k_seen, mv, yerr=[mv - 100 * m_lo, 100 * m_hi - mv], fmt="o", c="k", capsize=3, label="measured")
    ax.axhline(100 * point["noise_free"], c="C0", lw=0.8, ls=":", label="noise-free labels")
    ax.axhline(60, c="C3", lw=0.8, label="goal (60)")
    ax.set_xlabel("seeds averaged into each label (K)")
    ax.set_ylabel("Kendall ×100")
    ax.set_title("shipped ranker on unseen samples, by label noise", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(args.out / "noise-curve.png")
    md += ["", "![noise curve](noise-curve.png)"]
    write_text(args.out / "noise-curve.md", "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
