"""Predictor models of the FasterSeg space judged leave-one-sample-out, as a new sample would judge them.

A random split of the ground truth mixes every sample into the training part; a new sample is a
new draw of 32 networks. Here each sample of the ground truth (``g0``, ``g2``, ...) is held out in
turn: every model (a ``saswot predictor fit`` configuration: model, feature set, clipping) is fitted on
the networks of the other samples (a network drawn in two samples stays out of both folds' training
parts when one of them is held out) and ranks the held-out sample's networks against their two-seed
means (seeds 0 and 1). Reported: each model's Kendall τ per sample, their mean and spread, and each
model's paired difference to the first one (samples won). Samples matching ``--exclude`` are left
out altogether (a declared held-out set).

Against the noise ceiling: each held-out sample's seed pair gives a Kendall τ between seed 0 and
seed 1; their mean over the samples gives one seed's reliability (the correlation it implies) and
the two-seed mean's by Spearman-Brown, hence the ceiling against two-seed means. Each model's mean
Kendall is also given corrected for that noise (the τ against noise-free labels that the same
ranking would reach, through the bivariate-normal link), with a 95 % bootstrap interval that
resamples the networks of every held-out sample (stratified by sample) and re-estimates both the
models' Kendall and the reliability from each resample. A check of that noise model on the same
networks: the Kendall against one seed that it predicts from the corrected figure, beside the one
measured (the mean over seed 0 and seed 1).

    OMP_NUM_THREADS=1 python benchmarks/fasterseg_models_loso.py --exclude '^g9-' \
        --out benchmarks/out/models-loso

With ``--scan``, the candidates of ``fasterseg_model_scan.py`` are judged instead (more features,
noise-aware fits of the ranker, nonlinear models), against the shipped configuration.

Writes ``models-loso.json`` and ``models-loso.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fasterseg_model_scan import SCAN, Candidate, config_candidate
from fasterseg_rankers import DATA, SHORT, kendall, load_truth, rho_from_tau, spearman_brown, tau_from_rho
from heldout_predictors import noise_free_kendall

from saswot.utils.io import write_json, write_text

#: The configurations compared (name: model, feature set, features clipped to the labelled range);
#: the first is the reference of the differences.
CONFIGS: dict[str, tuple[str, str, bool]] = {
    "ridge / structure (v2)": ("ridge", "structure", False),
    "ridge / structure-paths (v3)": ("ridge", "structure-paths", False),
    "rank / structure": ("rank", "structure", False),
    "rank / structure-paths": ("rank", "structure-paths", False),
    "rank / structure-paths, clipped": ("rank", "structure-paths", True),
    "random forest / structure-paths": ("rf", "structure-paths", False),
}

#: Ensembles of the configurations above: the mean of their predictions, each standardised over the
#: held-out networks (uses no label), so that every member weighs the same whatever its scale.
ENSEMBLES: dict[str, tuple[str, ...]] = {
    "ensemble: v2 + v4 configurations": ("ridge / structure (v2)", "rank / structure-paths, clipped"),
    "ensemble: v2 + v3 + v4 configurations": (
        "ridge / structure (v2)", "ridge / structure-paths (v3)", "rank / structure-paths, clipped"),
}


def _standardised(v: np.ndarray) -> np.ndarray:
    sd = float(np.std(v))
    return (v - np.mean(v)) / sd if sd > 0 else np.zeros_like(v)


def _reliabilities(tau_ss: float) -> tuple[float, float]:
    """One seed's reliability from the seed pairs' mean τ, and the two-seed mean's (Spearman-Brown)."""
    rel1 = max(0.0, rho_from_tau(tau_ss))
    return rel1, spearman_brown(rel1, 2)


def noise_corrected(preds: dict[str, list[np.ndarray]], seeds: list[np.ndarray], boot: int,
                    seed: int) -> dict[str, object]:
    """The ceiling of two-seed means from the held-out samples' seed pairs, and each model's mean
    Kendall over the samples corrected for that noise, with a stratified bootstrap interval.

    ``preds[name][k]`` are the model's predictions of sample ``k``'s networks, ``seeds[k]`` their
    mIoU (networks × 2: seeds 0 and 1).
    """

    def corrected(taus: dict[str, float], tau_ss: float) -> dict[str, float]:
        rel2 = _reliabilities(tau_ss)[1]
        return {name: noise_free_kendall(t, rel2) for name, t in taus.items()}

    def means(rows: list[np.ndarray]) -> tuple[dict[str, float], float]:
        taus = {name: float(np.mean([kendall(p[k][r], seeds[k][r].mean(axis=1)) for k, r in enumerate(rows)]))
                for name, p in preds.items()}
        return taus, float(np.mean([kendall(seeds[k][r, 0], seeds[k][r, 1]) for k, r in enumerate(rows)]))

    whole = [np.arange(len(s)) for s in seeds]
    taus, tau_ss = means(whole)
    point = corrected(taus, tau_ss)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in preds}
    for _ in range(boot):
        rows = [rng.integers(0, len(s), len(s)) for s in seeds]
        for name, v in corrected(*means(rows)).items():
            draws[name].append(v)
    rel1, rel2 = _reliabilities(tau_ss)
    one_seed = {name: float(np.mean([kendall(p[k], seeds[k][:, j]) for k in range(len(seeds)) for j in (0, 1)]))
                for name, p in preds.items()}
    return {"tau_seed_pair_mean": tau_ss, "reliability_one_seed": rel1, "reliability_two_seed_mean": rel2,
            "ceiling_two_seed_mean": tau_from_rho(np.sqrt(rel2)), "bootstrap": boot,
            "models": {name: {"kendall_mean": taus[name], "kendall_noise_free": point[name],
                              "kendall_one_seed": one_seed[name],
                              "kendall_one_seed_predicted": tau_from_rho(rho_from_tau(point[name]) * np.sqrt(rel1)),
                              "kendall_noise_free_ci95": [float(np.nanpercentile(draws[name], 2.5)),
                                                          float(np.nanpercentile(draws[name], 97.5))]}
                       for name in preds}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, nargs="*", default=[DATA / "minibench-camvid.jsonl"])
    ap.add_argument("--exclude", default="^g9-", help="labels of samples left out altogether (regex; empty: none)")
    ap.add_argument("--seed", type=int, default=0, help="model and bootstrap seed")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of the noise-corrected figures")
    ap.add_argument("--scan", action="store_true", help="judge the candidates of fasterseg_model_scan.py instead")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/models-loso"))
    args = ap.parse_args()

    gt = load_truth(args.bench, SHORT)
    pat = re.compile(args.exclude) if args.exclude else None
    samples_of = [{p.split("-")[0] for p in lab.split("+")} for lab in gt.labels]
    excluded = gt.held_out(pat) if pat else np.zeros(len(gt.labels), dtype=bool)
    keep = [i for i in range(len(gt.labels)) if not excluded[i] and 0 in gt.seeds[i] and 1 in gt.seeds[i]]
    seed_mat = np.asarray([[gt.seeds[i][0], gt.seeds[i][1]] for i in keep])
    y = seed_mat.mean(axis=1)
    groups = sorted({g for i in keep for g in samples_of[i]}, key=lambda g: int(g[1:]))
    candidates: dict[str, Candidate] = (dict(SCAN) if args.scan else
                                        {name: config_candidate(*cfg) for name, cfg in CONFIGS.items()})
    ensembles = {} if args.scan else ENSEMBLES
    x = {name: np.asarray([c.features(gt.archs[i]) for i in keep]) for name, c in candidates.items()}
    names = [*candidates, *ensembles]
    taus: dict[str, list[float]] = {name: [] for name in names}
    sizes = []
    kept_preds: dict[str, list[np.ndarray]] = {name: [] for name in names}
    kept_seeds: list[np.ndarray] = []
    for g in groups:
        test = np.asarray([samples_of[i] == {g} for i in keep])
        train = np.asarray([g not in samples_of[i] for i in keep])
        sizes.append({"sample": g, "test": int(test.sum()), "train": int(train.sum())})
        preds: dict[str, np.ndarray] = {}
        for name, c in candidates.items():
            preds[name] = np.asarray(c.make(args.seed).fit(x[name][train], y[train]).predict(x[name][test]))
        for name, members in ensembles.items():
            preds[name] = np.mean([_standardised(preds[m]) for m in members], axis=0)
        for name in names:
            taus[name].append(kendall(preds[name], y[test]))
            kept_preds[name].append(preds[name])
        kept_seeds.append(seed_mat[test])
        print(f"{g}: " + ", ".join(f"{n} {100 * t[-1]:.1f}" for n, t in taus.items()), flush=True)
    ref = next(iter(candidates))
    rows = []
    for name, t in taus.items():
        d = np.subtract(t, taus[ref])
        what = {"members": list(ensembles[name])} if name in ensembles else candidates[name].what
        rows.append({"config": name, **what, "per_sample": t,
                     "mean": float(np.mean(t)), "sd": float(np.std(t, ddof=1)),
                     "difference_to_ref": {"mean": float(d.mean()), "sd": float(np.std(d, ddof=1)),
                                           "wins": int((d > 0).sum())}})
    noise = noise_corrected(kept_preds, kept_seeds, args.boot, args.seed)
    doc = {"exclude": args.exclude or None, "samples": sizes, "reference": ref, "labels": "mean of seeds 0 and 1",
           "bench": [str(b) for b in args.bench], "rows": rows, "noise": noise}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "models-loso.json", doc)
    md = [f"Leave one sample out: Kendall ×100 on each held-out sample against two-seed means "
          f"(fitted on the other samples, {min(s['train'] for s in sizes)}–{max(s['train'] for s in sizes)} "
          f"networks); excluded: {args.exclude or 'none'}.", "",
          "| model / features | " + " | ".join(s["sample"] for s in sizes) + f" | mean ± sd | − {ref} (samples won) |",
          "| --- |" + " --- |" * (len(sizes) + 2)]
    md += [f"| {r['config']} | " + " | ".join(f"{100 * v:.1f}" for v in r["per_sample"])
           + f" | {100 * r['mean']:.1f} ± {100 * r['sd']:.1f} | {100 * r['difference_to_ref']['mean']:+.1f} ± "
             f"{100 * r['difference_to_ref']['sd']:.1f} ({r['difference_to_ref']['wins']}/{len(sizes)}) |" for r in rows]
    md += ["", f"Against the noise ceiling: the held-out samples' seed pairs agree at a mean τ = "
               f"{noise['tau_seed_pair_mean']:.3f} (one seed's reliability {noise['reliability_one_seed']:.3f}, "
               f"the two-seed mean's {noise['reliability_two_seed_mean']:.3f}): the ceiling against two-seed means "
               f"is {100 * noise['ceiling_two_seed_mean']:.1f}.", "",
           "| model / features | mean Kendall ×100 | noise-corrected (95 % CI, stratified bootstrap) "
           "| against one seed: measured / predicted by the noise model |",
           "| --- | --- | --- | --- |"]
    md += [f"| {name} | {100 * v['kendall_mean']:.1f} | {100 * v['kendall_noise_free']:.1f} "
           f"({100 * v['kendall_noise_free_ci95'][0]:.1f}–{100 * v['kendall_noise_free_ci95'][1]:.1f}) "
           f"| {100 * v['kendall_one_seed']:.1f} / {100 * v['kendall_one_seed_predicted']:.1f} |"
           for name, v in noise["models"].items()]
    write_text(args.out / "models-loso.md", "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
