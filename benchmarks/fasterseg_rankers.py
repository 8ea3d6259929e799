"""Rankers of the FasterSeg space against its trained ground truth, judged on held-out architectures.

What it measures (all on CamVid val mIoU of the ``cpu-half-8ep`` recipe):

* **ground truth**: distinct architectures, seeds, mIoU range; the architectures of the *design
  set* (the networks trained before this study: sample seeds 0 and 1 and the Table 4 networks)
  and of the *held-out set* (sample seeds 2 and above, trained after every choice below was made);
* **noise ceiling**: Kendall τ between seed 0 and seed 1 of the architectures trained twice, and
  the τ an ideal ranker would reach against single-seed and against two-seed-mean labels
  (bivariate-normal link τ = 2/π·arcsin ρ, reliability from the seed pair), with a bootstrap CI;
* **fidelity**: τ between the short recipe and the ~3× longer ``cpu-half-16ep-full`` on the
  architectures trained with both, with a bootstrap CI, the largest τ the two recipes' seed noise
  allows, the noise-corrected correlation and the recipe decision (:data:`FIDELITY_THRESHOLD`);
* **rankers** over repeated random splits by architecture (fit on one part, Kendall on the rest;
  mean ± std): every proxy given (raw score, no fitting), cost and structure baselines (GMACs,
  params, LUT latency, cells and width per stride, depth), a linear model on per-stride cell
  counts and widths, and few-shot predictors (random forest / ridge on structure features, ridge
  on the structure-paths set, with and without proxy scores) with a learning curve over k
  labelled networks;
* **held-out check**: every ranker fitted on the whole design set, scored on the held-out set.

    SASWOT_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/fasterseg_rankers.py \
        --proxies all --cache benchmarks/out/fasterseg-rankers/cache --out benchmarks/out/fasterseg-rankers

Writes ``rankers.json`` and ``rankers.md`` (tables) and figures under ``--out``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from saswot.config import SEGMENTER_BATCH
from saswot.datasets.proxy_batch import make_batch
from saswot.proxies import SENTINEL, resolve_proxies
from saswot.search.predictor import FittedPredictor
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.builder import build_network
from saswot.spaces.fasterseg.features import feature_names, path_feature_names, path_features, structure_features
from saswot.utils.io import write_json, write_text
from saswot.utils.plots import _figure, _save, scatter_plot
from saswot.workflows.minibench import RECIPES, BenchFile
from saswot.workflows.score import ScoreCache, score_architectures

DATA = Path(__file__).resolve().parents[1] / "saswot" / "data" / "fasterseg"
SHORT = RECIPES["cpu-half-8ep"].recipe_id
LONG = RECIPES["cpu-half-16ep-full"].recipe_id
#: Labels of networks trained after the rankers were designed (new sample seeds).
HELD_OUT = re.compile(r"^g([2-9]|\d\d+)-")
STRIDE_COLS = ("cells_s8", "width_s8", "cells_s16", "width_s16", "cells_s32", "width_s32")


@dataclass
class GroundTruth:
    """Per-architecture labels of one recipe."""

    keys: list[str]
    archs: list[FasterSegArch]
    labels: list[str]
    seeds: list[dict[int, float]]
    latency: list[float]

    @property
    def mean(self) -> np.ndarray:
        """mIoU averaged over the seeds trained."""
        return np.asarray([np.mean(list(s.values())) for s in self.seeds])

    def held_out(self, pattern: re.Pattern[str] = HELD_OUT) -> np.ndarray:
        """Mask of the held-out architectures (a label matching ``pattern``)."""
        return np.asarray([any(pattern.match(p) for p in lab.split("+")) for lab in self.labels])


def load_truth(files: Sequence[Path], recipe_id: str) -> GroundTruth:
    """Finished entries of ``recipe_id`` in ``files``, grouped by architecture."""
    by: dict[str, dict[str, Any]] = {}
    for f in files:
        if not f.is_file():
            continue
        for e in BenchFile(f).entries():
            if e["recipe_id"] != recipe_id or e.get("miou") is None:
                continue
            g = by.setdefault(e["key"], {"arch": e["arch"], "labels": set(), "seeds": {}, "lat": e.get("latency_ms")})
            g["labels"].add(e["label"])
            g["seeds"][int(e["seed"])] = float(e["miou"])
    keys = sorted(by)
    return GroundTruth(
        keys=keys,
        archs=[FasterSegArch.from_json(by[k]["arch"]) for k in keys],
        labels=["+".join(sorted(by[k]["labels"])) for k in keys],
        seeds=[by[k]["seeds"] for k in keys],
        latency=[float(by[k]["lat"]) if by[k]["lat"] is not None else math.nan for k in keys],
    )


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall τ-b (NaN-safe: rows with a NaN are left out)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return math.nan
    return float(stats.kendalltau(a[ok], b[ok]).statistic)


def bootstrap_ci(a: np.ndarray, b: np.ndarray, fn: Callable[[np.ndarray, np.ndarray], float], seed: int = 0,
                 n: int = 2000) -> tuple[float, float]:
    """95 % percentile bootstrap interval of ``fn(a, b)`` over architectures."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n):
        idx = rng.integers(0, len(a), len(a))
        v = fn(a[idx], b[idx])
        if math.isfinite(v):
            vals.append(v)
    return (float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))) if vals else (math.nan, math.nan)


def tau_from_rho(rho: float) -> float:
    """Kendall τ of a bivariate normal with correlation ``rho``."""
    return 2.0 / math.pi * math.asin(max(-1.0, min(1.0, rho)))


def rho_from_tau(tau: float) -> float:
    """Inverse of :func:`tau_from_rho`."""
    return math.sin(math.pi * tau / 2.0)


def spearman_brown(rel: float, k: float) -> float:
    """Reliability of the mean of ``k`` seeds from one seed's reliability ``rel`` (Spearman-Brown)."""
    return k * rel / (1 + (k - 1) * rel)


def noise_ceiling(gt: GroundTruth) -> dict[str, Any]:
    """Seed-0 vs seed-1 agreement and the τ an ideal ranker reaches against noisy labels."""
    pairs = [(s[0], s[1]) for s in gt.seeds if 0 in s and 1 in s]
    if len(pairs) < 5:
        return {"archs": len(pairs)}
    a, b = np.asarray(pairs).T
    tau_ss = kendall(a, b)

    def ceilings(t: float) -> tuple[float, float]:
        rel = max(0.0, rho_from_tau(t))  # reliability of one seed = corr(seed 0, seed 1)
        rel2 = spearman_brown(rel, 2)  # of the two-seed mean
        return tau_from_rho(math.sqrt(rel)), tau_from_rho(math.sqrt(rel2))

    single, double = ceilings(tau_ss)
    lo, hi = bootstrap_ci(a, b, kendall)
    return {
        "archs": len(pairs),
        "tau_seed0_seed1": tau_ss,
        "tau_seed0_seed1_ci95": [lo, hi],
        "ceiling_single_seed": single,
        "ceiling_single_seed_ci95": [ceilings(lo)[0], ceilings(hi)[0]],
        "ceiling_two_seed_mean": double,
        "seed_sd": float(np.std(a - b, ddof=1) / math.sqrt(2)),
        "arch_sd": float(np.std((a + b) / 2, ddof=1)),
    }


#: The recipe decision, fixed before the 16 fidelity pairs and the long recipe's second seeds were in:
#: the short recipe is scaled if its noise-corrected rank agreement with the long one reaches this
#: correlation (both recipes measuring the same quality up to seed noise), else the long recipe is.
FIDELITY_THRESHOLD = 0.7
#: Pairs of recipes, and seed pairs of the long recipe, needed before the decision is made.
FIDELITY_MIN_PAIRS = 16
LONG_NOISE_MIN_PAIRS = 8


def reliability(gt: GroundTruth) -> tuple[float | None, int]:
    """Correlation of seed 0 and seed 1 over the architectures trained with both (None: fewer than 5)."""
    pairs = [(s[0], s[1]) for s in gt.seeds if 0 in s and 1 in s]
    if len(pairs) < 5:
        return None, len(pairs)
    a, b = np.asarray(pairs).T
    return max(0.0, rho_from_tau(kendall(a, b))), len(pairs)


def fidelity(short: GroundTruth, long: GroundTruth) -> dict[str, Any]:
    """Rank agreement of the short and the long recipe on the architectures trained with both, and
    the same agreement corrected for both recipes' seed noise (the recipe decision)."""
    idx = {k: i for i, k in enumerate(short.keys)}
    common = [(idx[k], j) for j, k in enumerate(long.keys) if k in idx]
    both = [(short.mean[i], float(np.mean(list(long.seeds[j].values())))) for i, j in common]
    if len(both) < 5:
        return {"archs": len(both)}
    a, b = np.asarray(both).T
    lo, hi = bootstrap_ci(a, b, kendall)
    tau = kendall(a, b)
    out: dict[str, Any] = {"archs": len(both), "kendall": tau, "kendall_ci95": [lo, hi],
                           "spearman": float(stats.spearmanr(a, b).statistic), "short": a.tolist(), "long": b.tolist()}
    rel_s1, n_s = reliability(short)
    rel_l1, n_l = reliability(long)
    out["short_seed_pairs"], out["long_seed_pairs"] = n_s, n_l

    def of_mean(rel1: float | None, seeds: list[int]) -> float | None:
        if rel1 is None:
            return None
        # seeds averaged per architecture
        return spearman_brown(rel1, float(np.mean(seeds))) if rel1 > 0 else 0.0

    rel_s = of_mean(rel_s1, [len(short.seeds[i]) for i, _ in common])
    rel_l = of_mean(rel_l1, [len(long.seeds[j]) for _, j in common])
    out["short_reliability"], out["long_reliability"] = rel_s, rel_l
    if rel_s:
        # the largest agreement two recipes that rank alike can show through their seed noise
        # (the long recipe's noise taken as zero until it is measured: an upper bound)
        out["kendall_ceiling"] = tau_from_rho(math.sqrt(rel_s * (rel_l if rel_l is not None else 1.0)))
        if rel_l:
            out["corrected_correlation"] = rho_from_tau(tau) / math.sqrt(rel_s * rel_l)
    ready = len(both) >= FIDELITY_MIN_PAIRS and n_l >= LONG_NOISE_MIN_PAIRS and "corrected_correlation" in out
    out["decision"] = (
        ("cpu-half-8ep" if out["corrected_correlation"] >= FIDELITY_THRESHOLD else "cpu-half-16ep-full")
        if ready
        else f"undecided: {len(both)}/{FIDELITY_MIN_PAIRS} recipe pairs, {n_l}/{LONG_NOISE_MIN_PAIRS} long seed pairs"
    )
    return out


# ----------------------------------------------------------------------------- rankers
#: A ranker: (features of the training archs, their labels) -> scorer of feature rows.
Fitter = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]


def fixed(col: int, sign: float) -> Fitter:
    """A column as the score (no fitting)."""
    return lambda _x, _y: (lambda x: sign * x[:, col])


def signed(col: int) -> Fitter:
    """A column whose direction is chosen on the training part (the sign of its Kendall there)."""

    def fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        s = 1.0 if kendall(x[:, col], y) >= 0 else -1.0
        return lambda z: s * z[:, col]

    return fit


def ridge(cols: Sequence[int]) -> Fitter:
    """Standardised ridge regression (alpha by leave-one-out CV) on ``cols``."""

    def fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        m = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 3, 21))).fit(x[:, cols], y)
        return lambda z: m.predict(z[:, cols])

    return fit


def forest(cols: Sequence[int], seed: int = 0) -> Fitter:
    """Random forest (300 trees, half the features per split, leaves of 2) on ``cols``."""

    def fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        m = RandomForestRegressor(300, max_features=0.5, min_samples_leaf=2, random_state=seed, n_jobs=1)
        m.fit(x[:, cols], y)
        return lambda z: m.predict(z[:, cols])

    return fit


def rank_ensemble(parts: Sequence[Fitter]) -> Fitter:
    """Sum of the members' ranks (AZ-NAS-style; each member fitted on the training part)."""

    def fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        scorers = [p(x, y) for p in parts]
        return lambda z: np.sum([stats.rankdata(s(z)) for s in scorers], axis=0)

    return fit


def out_of_fold(x: np.ndarray, y: np.ndarray, fitter: Fitter, folds: int, seed: int) -> np.ndarray:
    """Each architecture's score from a ranker fitted on the other folds (for scatter plots)."""
    perm = np.random.default_rng([seed, 999]).permutation(len(y))
    out = np.full(len(y), np.nan)
    for f in range(folds):
        te = perm[f::folds]
        tr = np.setdiff1d(perm, te)
        out[te] = fitter(x[tr], y[tr])(x[te])
    return out


def figures(folder: Path, results: dict[str, Any], ks: Sequence[int], scatter: dict[str, np.ndarray],
            y: np.ndarray, ceiling: float | None, ceiling2: float | None = None) -> list[Path]:
    """The learning curve of the fitted rankers and scatter plots of the best rankers."""
    paths = []
    fig = _figure((5.0, 3.4))
    ax = fig.add_subplot()
    for name, row in results.items():
        if row["curve"] and (name.startswith(("forest", "ridge", "linear", "ensemble"))):
            ax.errorbar([c["k"] for c in row["curve"]], [100 * c["mean"] for c in row["curve"]],
                        yerr=[100 * c["std"] for c in row["curve"]], marker="o", ms=3, capsize=2, label=name)
    if ceiling is not None:
        ax.axhline(100 * ceiling, ls="--", c="grey", lw=1, label="noise ceiling, single-seed labels")
    if ceiling2 is not None:
        ax.axhline(100 * ceiling2, ls=":", c="grey", lw=1, label="noise ceiling, two-seed means")
    ax.set_xlabel("labelled architectures k")
    ax.set_ylabel("Kendall ×100 on the rest")
    ax.legend(fontsize=6)
    paths.append(_save(fig, folder / "learning-curve.png"))
    for name, v in scatter.items():
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", name)
        paths.append(scatter_plot(v, 100 * y, folder / f"scatter-{safe}.png",
                                  title=f"{name} (Kendall τ = {kendall(v, y):.3f})", xlabel="score",
                                  ylabel="val mIoU (%)"))
    return paths


def repeated_splits(x: np.ndarray, y: np.ndarray, fitter: Fitter, k: int, repeats: int, seed: int) -> dict[str, Any]:
    """Fit on ``k`` random architectures, Kendall on the rest; ``repeats`` times."""
    taus = []
    for r in range(repeats):
        rng = np.random.default_rng([seed, k, r])
        perm = rng.permutation(len(y))
        tr, te = perm[:k], perm[k:]
        score = fitter(x[tr], y[tr])
        taus.append(kendall(score(x[te]), y[te]))
    arr = np.asarray(taus)
    return {"k": k, "n_test": len(y) - k, "repeats": repeats, "mean": float(np.nanmean(arr)),
            "std": float(np.nanstd(arr))}


def proxy_scores(gt: GroundTruth, proxies: str, cache: Path | None, data_root: str | None) -> dict[str, np.ndarray]:
    """Every proxy's score of every architecture at ``search-arch``'s scoring settings (cached per arch)."""
    ps = SEGMENTER_BATCH  # search-arch's proxy batch
    specs = [s for s in resolve_proxies([proxies]) if not s.needs_avt]
    images_labels = make_batch(ps.data, ps.batch_size, ps.resolution, ps.num_classes, ps.seed, data_root)

    def build(a: FasterSegArch) -> Any:
        return build_network(a, ps.num_classes, seed=ps.seed)

    per = score_architectures(gt.archs, specs, ps, build, key=lambda a: a.key(), images_labels=images_labels,
                              cache=ScoreCache(cache, "fasterseg", ps) if cache else None, progress=True,
                              description="proxies")
    out = {}
    for s in specs:
        v = np.asarray([per[a.key()].scores[s.name] for a in gt.archs], dtype=np.float64)
        v[(v == SENTINEL) | ~np.isfinite(v)] = np.nan
        out[s.name] = v
    return out


def held_out_judgement(scores: np.ndarray, gt: GroundTruth, idx: np.ndarray, seed: int) -> dict[str, Any]:
    """Kendall of ``scores`` (one per architecture of ``idx``) against the held-out labels three ways:
    the mean of the seeds trained, seed 0 alone, and the two-seed mean where both seeds are trained
    (the labels the two-seed noise ceiling applies to)."""
    truth = gt.mean[idx]
    out: dict[str, Any] = {"n": int(idx.size), "kendall": kendall(scores, truth),
                           "kendall_ci95": list(bootstrap_ci(scores, truth, kendall, seed)),
                           "seeds_mean": float(np.mean([len(gt.seeds[i]) for i in idx]))}
    s0 = np.asarray([gt.seeds[i].get(0, math.nan) for i in idx])
    out["seed0"] = {"n": int(np.isfinite(s0).sum()), "kendall": kendall(scores, s0)}
    two = np.asarray([len(gt.seeds[i]) >= 2 for i in idx])
    if two.sum() >= 5:
        out["two_seed"] = {"n": int(two.sum()), "kendall": kendall(scores[two], truth[two]),
                           "kendall_ci95": list(bootstrap_ci(scores[two], truth[two], kendall, seed))}
    return out


def per_sample(scores: np.ndarray, gt: GroundTruth, idx: np.ndarray) -> dict[str, dict[str, float]]:
    """Kendall of ``scores`` against the seed-0 labels within each sample (labels ``g<sample seed>-…``)."""
    groups: dict[str, list[int]] = {}
    for j, i in enumerate(idx):
        m = re.match(r"^(g\d+)-", gt.labels[i])
        if m and 0 in gt.seeds[i]:
            groups.setdefault(m.group(1), []).append(j)
    return {g: {"n": len(js), "kendall": kendall(scores[js], np.asarray([gt.seeds[idx[j]][0] for j in js]))}
            for g, js in sorted(groups.items(), key=lambda kv: int(kv[0][1:])) if len(js) >= 5}


def shipped_check(path: Path, gt: GroundTruth, held: np.ndarray, seed: int) -> dict[str, Any]:
    """Kendall of a predictor file, as it is (no refit), on the held-out architectures (and per sample)."""
    pred = FittedPredictor.load(path)
    idx = np.flatnonzero(held)
    scores = np.asarray(pred.score_many([gt.archs[i] for i in idx]))
    fitted = set(pred.keys)
    return {"file": str(path), "fitted_on": len(fitted), "overlap": sum(gt.keys[i] in fitted for i in idx),
            **held_out_judgement(scores, gt, idx, seed), "per_sample_seed0": per_sample(scores, gt, idx)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, nargs="*", default=[DATA / "minibench-camvid.jsonl",
                                                             DATA / "minibench-noise-camvid.jsonl",
                                                             DATA / "table4-cpu-camvid.jsonl"])
    ap.add_argument("--fidelity-bench", type=Path, default=DATA / "minibench-fidelity-camvid.jsonl")
    ap.add_argument("--proxies", default="", help="proxies to score (e.g. all); empty: structure only")
    ap.add_argument("--cache", type=Path, default=None, help="proxy score cache folder")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--predictor", type=Path, default=DATA / "predictor-camvid.json",
                    help="a predictor file judged as it is (no refit) on the held-out architectures")
    ap.add_argument("--held-out", default=HELD_OUT.pattern,
                    help="regular expression of the held-out networks' labels (default: sample seeds 2 and above, "
                         "held out from the first predictor; '^g7-' judges the refitted one)")
    ap.add_argument("--pool", action="store_true",
                    help="after the held-out judgement: treat every architecture as design (splits and the "
                         "learning curve over all of them; no held-out check)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/fasterseg-rankers"))
    args = ap.parse_args()
    t0 = time.perf_counter()

    gt = load_truth(args.bench, SHORT)
    y = gt.mean
    held = np.zeros(len(gt.keys), dtype=bool) if args.pool else gt.held_out(re.compile(args.held_out))
    names = feature_names()
    x_struct = np.asarray([structure_features(a) for a in gt.archs])
    cols: dict[str, np.ndarray] = {n: x_struct[:, i] for i, n in enumerate(names)}
    x_paths = np.asarray([path_features(a) for a in gt.archs])
    cols.update({n: x_paths[:, i] for i, n in enumerate(path_feature_names())})
    cols["latency_ms"] = np.asarray(gt.latency)
    proxies = proxy_scores(gt, args.proxies, args.cache, args.data_root) if args.proxies else {}
    for p, v in proxies.items():
        cols[f"proxy:{p}"] = v
    col_names = list(cols)
    x = np.column_stack([cols[c] for c in col_names])
    ci = {c: i for i, c in enumerate(col_names)}
    struct_idx = [ci[n] for n in names]
    paths_idx = struct_idx + [ci[n] for n in path_feature_names()]  # the structure-paths feature set
    proxy_idx = [ci[f"proxy:{p}"] for p in proxies if np.isfinite(cols[f"proxy:{p}"]).all()]

    rankers: dict[str, Fitter] = {}
    for p in proxies:
        rankers[f"proxy {p}"] = fixed(ci[f"proxy:{p}"], 1.0)
        rankers[f"proxy {p} (sign fitted)"] = signed(ci[f"proxy:{p}"])
    for c, sign in (("gmacs", 1.0), ("params_m", 1.0), ("latency_ms", -1.0)):
        rankers[f"{c} ({'+' if sign > 0 else '-'})"] = fixed(ci[c], sign)
    for c in ("depth_min", "cells_s8", "width_s8", "gmacs_s8", "gmacs_cells_frac_s8", "cells_s16", "width_s16"):
        rankers[f"{c} (sign fitted)"] = signed(ci[c])
    rankers["linear: cells+width per stride"] = ridge([ci[c] for c in STRIDE_COLS])
    rankers["ridge: structure"] = ridge(struct_idx)
    rankers["ridge: structure-paths"] = ridge(paths_idx)
    rankers["forest: structure"] = forest(struct_idx, args.seed)
    rankers["ensemble: forest structure + depth_min"] = rank_ensemble([forest(struct_idx, args.seed),
                                                                        signed(ci["depth_min"])])
    if proxy_idx:
        best = max(proxies, key=lambda p: abs(kendall(cols[f"proxy:{p}"][~held], y[~held])))
        rankers[f"ensemble: forest structure + {best} (sign fitted)"] = rank_ensemble(
            [forest(struct_idx, args.seed), signed(ci[f"proxy:{best}"])])
        rankers["forest: proxies"] = forest(proxy_idx, args.seed)
        rankers["forest: structure+proxies"] = forest(struct_idx + proxy_idx, args.seed)
        rankers["ridge: structure+proxies"] = ridge(struct_idx + proxy_idx)

    design = ~held
    xd, yd = x[design], y[design]
    n_d = int(design.sum())
    ks = [k for k in (16, 32, 64, 128) if k <= n_d - 8]
    half = n_d // 2
    results: dict[str, Any] = {}
    for name, fitter in rankers.items():
        row: dict[str, Any] = {"half": repeated_splits(xd, yd, fitter, half, args.repeats, args.seed),
                               "curve": [repeated_splits(xd, yd, fitter, k, args.repeats, args.seed) for k in ks]}
        if held.sum() >= 5:
            row["held_out"] = held_out_judgement(fitter(xd, yd)(x[held]), gt, np.flatnonzero(held), args.seed)
        results[name] = row
        print(f"{name:<36} half {row['half']['mean'] * 100:6.1f} ± {row['half']['std'] * 100:4.1f}"
              + (f"  held-out {row['held_out']['kendall'] * 100:6.1f}" if "held_out" in row else ""), file=sys.stderr)

    shipped = shipped_check(args.predictor, gt, held, args.seed) if held.sum() >= 5 else None
    long = load_truth([args.fidelity_bench], LONG)
    noise = noise_ceiling(gt)
    top = sorted(results, key=lambda n: -results[n]["half"]["mean"])[:4]
    scatter = {n: out_of_fold(xd, yd, rankers[n], 5, args.seed) for n in top}
    args.out.mkdir(parents=True, exist_ok=True)
    figs = figures(args.out, results, ks, scatter, yd, noise.get("ceiling_single_seed"),
                   noise.get("ceiling_two_seed_mean"))
    doc = {
        "recipe_id": SHORT,
        "truth": {"archs": len(gt.keys), "design": n_d, "held_out": int(held.sum()), "held_out_labels": args.held_out,
                  "runs": int(sum(len(s) for s in gt.seeds)), "miou_min": float(y.min()), "miou_max": float(y.max()),
                  "miou_mean": float(y.mean()), "miou_std": float(y.std(ddof=1))},
        "noise": noise,
        "figures": [str(p) for p in figs],
        "fidelity": fidelity(gt, long),
        "rankers": results,
        "shipped_predictor": shipped,
        "features": col_names,
        "repeats": args.repeats,
        "seed": args.seed,
        "wall_s": time.perf_counter() - t0,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json(args.out / "rankers.json", doc)
    lines = [f"# FasterSeg-space rankers ({doc['date']})", "",
             f"Ground truth: {doc['truth']['archs']} architectures ({n_d} design, {doc['truth']['held_out']} held out: "
             f"labels matching `{args.held_out}`), "
             f"{doc['truth']['runs']} runs; mIoU {y.min():.3f}-{y.max():.3f}.", "",
             f"| ranker | Kendall×100, fit on {half} design archs, rest | "
             + " | ".join(f"k={k}" for k in ks) + " | held-out, fit on all design (95 % CI; n) "
             "| held-out, two-seed means (n) |",
             "| --- | --- |" + " --- |" * len(ks) + " --- | --- |"]
    for name, row in sorted(results.items(), key=lambda kv: -kv[1]["half"]["mean"]):
        h = row["half"]
        curve = " | ".join(f"{c['mean'] * 100:.1f}" for c in row["curve"])
        ho = (f"{row['held_out']['kendall'] * 100:.1f} ({row['held_out']['kendall_ci95'][0] * 100:.0f}–"
              f"{row['held_out']['kendall_ci95'][1] * 100:.0f}; n={row['held_out']['n']})" if "held_out" in row else "-")
        two = row.get("held_out", {}).get("two_seed")
        ho2 = f"{two['kendall'] * 100:.1f} (n={two['n']})" if two else "-"
        lines.append(f"| {name} | {h['mean'] * 100:.1f} ± {h['std'] * 100:.1f} | {curve} | {ho} | {ho2} |")
    if shipped is not None:
        lines += ["", f"Shipped predictor `{shipped['file']}` as it is (fitted on {shipped['fitted_on']} "
                  f"architectures, {shipped['overlap']} of them held out here): Kendall×100 "
                  f"{shipped['kendall'] * 100:.1f} (95 % CI {shipped['kendall_ci95'][0] * 100:.1f}–"
                  f"{shipped['kendall_ci95'][1] * 100:.1f}) on {shipped['n']} held-out architectures "
                  f"(labels: mean of {shipped['seeds_mean']:.2f} seeds per architecture); seed 0 alone "
                  f"{shipped['seed0']['kendall'] * 100:.1f}"
                  + (f"; two-seed means {shipped['two_seed']['kendall'] * 100:.1f} (95 % CI "
                     f"{shipped['two_seed']['kendall_ci95'][0] * 100:.1f}–{shipped['two_seed']['kendall_ci95'][1] * 100:.1f}"
                     f"; n={shipped['two_seed']['n']})" if "two_seed" in shipped else "") + "."]
        if shipped["per_sample_seed0"]:
            lines += ["Per sample (seed-0 labels): " + ", ".join(
                f"{g} {v['kendall'] * 100:.1f} (n={v['n']})" for g, v in shipped["per_sample_seed0"].items()) + "."]
    nz, fd = doc["noise"], doc["fidelity"]
    if "tau_seed0_seed1" in nz:
        lines += ["", f"Noise: {nz['archs']} architectures with two seeds: τ(seed 0, seed 1) = "
                  f"{nz['tau_seed0_seed1']:.3f} (95 % CI {nz['tau_seed0_seed1_ci95'][0]:.3f}–"
                  f"{nz['tau_seed0_seed1_ci95'][1]:.3f}); ceiling against single-seed labels "
                  f"{nz['ceiling_single_seed']:.3f}, against two-seed means {nz['ceiling_two_seed_mean']:.3f}."]
    if "kendall" in fd:
        lines += ["", f"Fidelity: {fd['archs']} architectures with both recipes: Kendall {fd['kendall']:.3f} "
                  f"(95 % CI {fd['kendall_ci95'][0]:.3f}–{fd['kendall_ci95'][1]:.3f}), Spearman {fd['spearman']:.3f}."]
        if "kendall_ceiling" in fd:
            lines += [f"Largest Kendall two recipes that rank alike could show through the seed noise: "
                      f"{fd['kendall_ceiling']:.3f} (short recipe {fd['short_seed_pairs']} seed pairs"
                      + (f", long recipe {fd['long_seed_pairs']} seed pairs" if fd["long_reliability"] is not None
                         else "; long recipe's noise not measured yet, taken as zero") + ")"
                      + (f"; noise-corrected correlation {fd['corrected_correlation']:.2f}"
                         if "corrected_correlation" in fd else "") + "."]
        lines += [f"Recipe decision (scale the short recipe if the corrected correlation is at least "
                  f"{FIDELITY_THRESHOLD}): {fd['decision']}."]
    write_text(args.out / "rankers.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
