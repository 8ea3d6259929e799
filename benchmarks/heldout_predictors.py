"""Predictor files judged side by side, as they are, on held-out FasterSeg networks.

Every predictor scores the architectures whose label matches ``--held-out`` (none of them may be
in a predictor's fit: the script stops if one is). Each is judged by Kendall τ against the
``--seeds K``-seed mean (seeds 0 .. K-1; default 2) of the networks trained with all K seeds,
pooled and per sample, with a bootstrap 95 % interval over networks; each pair of predictors by
the paired bootstrap interval of their difference (the same resampled networks for both). The
noise ceiling of those labels is estimated from their own seed pairs (one seed's reliability is
the correlation implied by the mean Kendall τ over the seed pairs; the K-seed mean's follows by
Spearman-Brown, K·r / (1 + (K-1)·r)), and each pooled Kendall is also given corrected for that
noise (the τ against noise-free labels that the same ranking would reach, through the
bivariate-normal link and the K-seed mean's reliability), with a bootstrap interval that
re-estimates both the ranking's τ and the reliability from each resample of networks. Because a search keeps only the top of a
ranking, each predictor's top picks are reported too: the mean K-seed mIoU of the networks it ranks
in its top ``--top`` (pooled), beside the held-out networks' mean and best.

A few dozen seed pairs estimate the reliability loosely. With ``--reliability-from REGEX`` it is
estimated instead from the networks whose label matches REGEX (outside the held-out set, with the
same K seeds: other samples of the same recipe), and the interval resamples those networks and the
held-out ones independently.

    OMP_NUM_THREADS=1 python benchmarks/heldout_predictors.py --held-out '^g[78]-' \
        saswot/data/fasterseg/predictor-camvid-v2.json saswot/data/fasterseg/predictor-camvid-v3.json \
        --out benchmarks/out/heldout-predictors

Writes ``heldout.json``, ``heldout.md`` and a scatter plot per predictor under ``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fasterseg_rankers import (
    DATA,
    SHORT,
    bootstrap_ci,
    kendall,
    load_truth,
    rho_from_tau,
    spearman_brown,
    tau_from_rho,
)

from saswot.search.predictor import FittedPredictor
from saswot.utils.io import write_json, write_text
from saswot.utils.plots import scatter_plot


def paired_ci(a: np.ndarray, b: np.ndarray, y: np.ndarray, seed: int, n: int = 2000) -> tuple[float, float]:
    """95 % bootstrap interval of kendall(a, y) − kendall(b, y), resampling networks jointly."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        vals.append(kendall(a[i], y[i]) - kendall(b[i], y[i]))
    return float(np.nanpercentile(vals, 2.5)), float(np.nanpercentile(vals, 97.5))


def noise_free_kendall(tau: float, rel_k: float) -> float:
    """The Kendall τ against noise-free labels implied by ``tau`` against labels of reliability ``rel_k``
    (through the bivariate-normal link); NaN when the reliability is not positive."""
    if not rel_k > 0 or not math.isfinite(tau):
        return math.nan
    return tau_from_rho(min(1.0, rho_from_tau(tau) / math.sqrt(rel_k)))


def reliability_resamples(seeds: np.ndarray, seed: int, n: int = 2000,
                          reference: np.ndarray | None = None) -> list[tuple[np.ndarray, float]]:
    """``n`` bootstrap resamples of the networks (rows of ``seeds``, networks × K), each with the
    K-seed mean's reliability estimated again from it: drawn once, shared by every predictor.

    With ``reference`` (another networks × K matrix), the reliability is estimated from a resample
    of those networks instead, drawn from a generator of its own, so the held-out resamples are the
    same either way.
    """
    rng = np.random.default_rng(seed)
    rng_ref = np.random.default_rng([seed, 1])
    draws = []
    for _ in range(n):
        i = rng.integers(0, len(seeds), len(seeds))
        rel_rows = seeds[i] if reference is None else reference[rng_ref.integers(0, len(reference), len(reference))]
        draws.append((i, k_seed_noise(rel_rows)["reliability_k_seed_mean"]))
    return draws


def noise_free_ci(s: np.ndarray, y: np.ndarray, draws: list[tuple[np.ndarray, float]]) -> tuple[float, float]:
    """95 % bootstrap interval of the noise-corrected Kendall of scores ``s`` against the K-seed means
    ``y`` over ``draws`` (:func:`reliability_resamples`): the ranking's τ and the labels' reliability
    are both estimated again from each resample, so the interval carries the uncertainty of both."""
    vals = [noise_free_kendall(kendall(s[i], y[i]), rel_k) for i, rel_k in draws]
    return float(np.nanpercentile(vals, 2.5)), float(np.nanpercentile(vals, 97.5))


def k_seed_noise(seeds: np.ndarray) -> dict[str, float]:
    """Noise of K-seed labels from a networks × K matrix of mIoU: each seed pair's Kendall τ, one
    seed's reliability (from their mean τ), and the ceilings against one seed and the K-seed mean."""
    k = seeds.shape[1]
    taus = {f"{a}-{b}": kendall(seeds[:, a], seeds[:, b]) for a, b in itertools.combinations(range(k), 2)}
    tau_ss = float(np.mean(list(taus.values())))
    rel = max(0.0, rho_from_tau(tau_ss))
    rel_k = spearman_brown(rel, k)
    resid = seeds - seeds.mean(axis=1, keepdims=True)
    return {"seeds": k, "tau_seed_pairs": taus, "tau_seed_pair_mean": tau_ss, "reliability_one_seed": rel,
            "reliability_k_seed_mean": rel_k, "ceiling_single_seed": tau_from_rho(math.sqrt(rel)),
            "ceiling_k_seed_mean": tau_from_rho(math.sqrt(rel_k)),
            "seed_sd": float(np.sqrt((resid**2).sum() / (seeds.shape[0] * (k - 1))))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("predictors", type=Path, nargs="+", help="predictor files")
    ap.add_argument("--bench", type=Path, nargs="*", default=[DATA / "minibench-camvid.jsonl"])
    ap.add_argument("--held-out", default=r"^g[78]-", help="labels of the held-out networks (regex)")
    ap.add_argument("--seeds", type=int, default=2, help="labels: the mean of seeds 0 .. SEEDS-1 (networks with all of them)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    ap.add_argument("--reliability-from", default=None, metavar="REGEX",
                    help="estimate the labels' reliability from the networks matching REGEX (outside the "
                         "held-out set, with the same seeds) instead of from the held-out ones")
    ap.add_argument("--top", type=int, default=5, help="how many top-ranked networks a predictor's picks are")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/heldout-predictors"))
    args = ap.parse_args()

    gt = load_truth(args.bench, SHORT)
    pat = re.compile(args.held_out)
    if args.seeds < 2:
        print("--seeds must be at least 2: the noise ceiling is estimated from seed pairs")
        return 2
    k = args.seeds
    held = gt.held_out(pat)
    idx = np.asarray([i for i in range(len(gt.labels)) if held[i] and all(s in gt.seeds[i] for s in range(k))], dtype=int)
    if idx.size < 5:
        print(f"only {idx.size} held-out networks matching {args.held_out!r} have seeds 0-{k - 1}; train more first")
        return 2
    # seeds 0 .. k-1 only: a network may have more, and the ceiling below is that of k-seed means
    seed_mat = np.asarray([[gt.seeds[i][s] for s in range(k)] for i in idx])
    y = seed_mat.mean(axis=1)
    samples = sorted({re.match(r"^(g\d+)-", gt.labels[i]).group(1) for i in idx})  # type: ignore[union-attr]
    sub = {"pooled": np.arange(idx.size)}
    sub.update({s: np.asarray([j for j, i in enumerate(idx) if gt.labels[i].startswith(s + "-")]) for s in samples})
    reference = None
    if args.reliability_from:
        ref_pat = re.compile(args.reliability_from)
        ref_idx = [i for i in range(len(gt.labels)) if not held[i] and ref_pat.search(gt.labels[i])
                   and all(s in gt.seeds[i] for s in range(k))]
        if len(ref_idx) < 5:
            print(f"only {len(ref_idx)} networks outside the held-out set match {args.reliability_from!r} "
                  f"with seeds 0-{k - 1}; too few to estimate the reliability from")
            return 2
        reference = np.asarray([[gt.seeds[i][s] for s in range(k)] for i in ref_idx])
    ceiling = k_seed_noise(seed_mat if reference is None else reference)
    ceiling["estimated_on"] = "held-out networks" if reference is None else f"{len(reference)} networks matching {args.reliability_from}"
    draws = reliability_resamples(seed_mat, args.seed, reference=reference)
    scores: dict[str, np.ndarray] = {}
    rows = []
    for path in args.predictors:
        pred = FittedPredictor.load(path)
        seen = set(pred.keys) & {gt.keys[i] for i in idx}
        if seen:
            print(f"{path} was fitted on {len(seen)} of the held-out networks; it cannot be judged on them")
            return 2
        s = np.asarray(pred.score_many([gt.archs[i] for i in idx]))
        scores[path.stem] = s
        row = {"predictor": path.stem, "file": str(path), "features": pred.config.features or "default",
               "fitted_on": len(pred.keys)}
        for name, j in sub.items():
            if j.size >= 5:
                row[name] = {"n": int(j.size), "kendall": kendall(s[j], y[j]),
                             "kendall_ci95": list(bootstrap_ci(s[j], y[j], kendall, args.seed))}
        if ceiling["reliability_k_seed_mean"] > 0:  # the ceiling is τ(√reliability) of the k-seed means
            row["pooled"]["kendall_noise_free"] = noise_free_kendall(row["pooled"]["kendall"],
                                                                     ceiling["reliability_k_seed_mean"])
            row["pooled"]["kendall_noise_free_ci95"] = list(noise_free_ci(s, y, draws))
        top = np.argsort(-s)[: args.top]
        row["top"] = {"n": int(top.size), "miou_mean": float(y[top].mean()), "labels": [gt.labels[idx[t]] for t in top]}
        rows.append(row)
    pairs = []
    for a, b in itertools.combinations(scores, 2):
        lo, hi = paired_ci(scores[b], scores[a], y, args.seed)
        pairs.append({"a": b, "b": a, "difference": kendall(scores[b], y) - kendall(scores[a], y), "ci95": [lo, hi]})
    doc = {"held_out": args.held_out, "seeds": k, "networks": int(idx.size), "samples": samples, "noise": ceiling,
           "miou_mean": float(y.mean()), "miou_best": float(y.max()),
           "predictors": rows, "differences": pairs}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "heldout.json", doc)

    def cell(r: dict, name: str) -> str:
        v = r.get(name)
        return "–" if not v else f"{100 * v['kendall']:.1f} ({100 * v['kendall_ci95'][0]:.0f}–{100 * v['kendall_ci95'][1]:.0f})"

    cols = list(sub)
    md = [f"Kendall ×100 against {k}-seed means (95 % bootstrap CI); held out: `{args.held_out}`, "
          f"{idx.size} networks with seeds 0-{k - 1} ({', '.join(f'{s}: {sub[s].size}' for s in samples)}).", "",
          "| predictor (as it is) | features | fitted on | " + " | ".join(cols)
          + f" | pooled, noise-corrected (95 % CI) | mean mIoU of its top {args.top} |",
          "| --- | --- | --- |" + " --- |" * (len(cols) + 2)]

    def corrected(r: dict) -> str:
        v = r["pooled"]
        if "kendall_noise_free" not in v:
            return "–"
        lo, hi = v["kendall_noise_free_ci95"]
        return f"{100 * v['kendall_noise_free']:.1f} ({100 * lo:.0f}–{100 * hi:.0f})"

    md += [f"| {r['predictor']} | {r['features']} | {r['fitted_on']} | " + " | ".join(cell(r, c) for c in cols)
           + f" | {corrected(r)} | {100 * r['top']['miou_mean']:.2f} |" for r in rows]
    md += ["", f"Held-out networks ({k}-seed means): mean mIoU {100 * y.mean():.2f}, best {100 * y.max():.2f}; "
               f"the best {args.top} average {100 * np.sort(y)[-args.top:].mean():.2f}."]
    md += ["", "| difference (pooled) | Kendall ×100 | 95 % CI (paired bootstrap) |", "| --- | --- | --- |"]
    md += [f"| {p['a']} − {p['b']} | {100 * p['difference']:+.1f} | {100 * p['ci95'][0]:+.1f} to {100 * p['ci95'][1]:+.1f} |"
           for p in pairs]
    pairs_txt = ", ".join(f"τ(seed {p.replace('-', ', seed ')}) = {t:.3f}" for p, t in ceiling["tau_seed_pairs"].items())
    noise_of = "these networks" if reference is None else f"the {ceiling['estimated_on']}"
    md += ["", f"Noise of {noise_of}: {pairs_txt}; ceiling against one seed "
               f"{100 * ceiling['ceiling_single_seed']:.1f}, against their {k}-seed means {100 * ceiling['ceiling_k_seed_mean']:.1f}."]
    for name, v in scores.items():
        fig = scatter_plot(v, 100 * y, args.out / f"scatter-{name}.png", xlabel="predicted mIoU (%)",
                           ylabel=f"{k}-seed mean mIoU (%)",
                           title=f"{name}\nheld-out {', '.join(samples)}: Kendall τ = {kendall(v, y):.3f}")
        md += ["", f"![{name}]({fig.name})"]
    write_text(args.out / "heldout.md", "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
