"""Training-free proxies and ensembles on unseen architectures (Table 3, extended).

Every choice is made on the search split and reported on the disjoint validation split
(``dev_scores.dev_split``). For each space:

1. every single proxy: Kendall / Spearman / Pearson x100 on both splits;
2. ``aznas`` (AZ-NAS's four components, log-rank aggregation; nothing chosen);
3. forward selection (beam of 5) of an ensemble, for each method (log-rank, AVT sum): grow
   member sets one member (a proxy or its negation ``-proxy``) at a time, scored by the mean
   Kendall over ``--search-samples`` seeded samples of 50 search architectures, stop when the
   best set does not gain ``--min-gain`` or at ``--max-members``;
4. the chosen ensembles on the validation split, the pool being the validation architectures
   (what ``saswot rank`` does over those archs), and again scored one network at a time against a
   calibration of 100 search architectures (real-time mode).

Outputs: ``<out>/ensembles-<space>.json`` and ``.md``; with ``--write-calibration`` the shipped
calibration ``saswot/data/ensemble/<space>.json`` (100 unlabelled search architectures).

    python benchmarks/ensemble_search.py --cache benchmarks/out/issue15/cache --space micro
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dev_scores import DevScores, fmt, load_dev_scores, sampled  # noqa: E402

from saswot.workflows.ensemble_rank import Ensemble, EnsembleCalibration, pool_scores, proxy_of, single_score  # noqa: E402
from saswot.utils.io import write_json, write_text  # noqa: E402
from saswot.proxies import SENTINEL  # noqa: E402
from saswot.utils.tables import table_to_markdown  # noqa: E402

SAMPLE_SIZE = 50


def ensemble_column(ens: Ensemble, dev: DevScores, keys: list[str]) -> np.ndarray:
    """Pool scores of ``ens`` over ``keys`` (the pool is ``keys``)."""
    lists = {proxy_of(m)[0]: dev.column(proxy_of(m)[0], keys) for m in ens.members}
    return pool_scores(ens, lists, SENTINEL)


def mean_kendall(ens: Ensemble, dev: DevScores, keys: list[str], samples: int, seed: int) -> float:
    """Mean Kendall over seeded samples of 50 of ``keys``."""
    return sampled(ensemble_column(ens, dev, keys), dev.truths(keys), samples, SAMPLE_SIZE, seed)["kendall"]["mean"]


def greedy(dev: DevScores, method: str, samples: int, seed: int, max_members: int, min_gain: float,
           log: list[str], beam: int = 5) -> tuple[Ensemble, list[dict]]:
    """Forward selection with a beam on the search split (see module doc).

    Each step extends every kept member set by one member (a proxy or its negation, a proxy at
    most once) and keeps the ``beam`` best sets; it stops when the best set of the step does not
    beat the best so far by ``min_gain`` or at ``max_members``. Returns the best set seen.
    """
    candidates = [p for p in dev.proxies] + [f"-{p}" for p in dev.proxies]
    memo: dict[tuple[str, ...], float] = {}

    def value(members: tuple[str, ...]) -> float:
        key = tuple(sorted(members))
        if key not in memo:
            memo[key] = mean_kendall(Ensemble(members, method), dev, dev.search, samples, seed)
        return memo[key]

    kept: list[tuple[str, ...]] = [()]
    best: tuple[float, tuple[str, ...]] = (-1.0, ())
    trace = []
    for size in range(1, max_members + 1):
        grown = {}
        for members in kept:
            used = {proxy_of(m)[0] for m in members}
            for c in candidates:
                if proxy_of(c)[0] not in used:
                    new = members + (c,)
                    grown[tuple(sorted(new))] = new
        ranked = sorted(((value(m), m) for m in grown.values()), reverse=True)[:beam]
        if not ranked:
            break
        top_value, top = ranked[0]
        trace.append({"size": size, "members": list(top), "kendall_search": top_value})
        log.append(f"  {method}: best of size {size}: {','.join(top):<70} search Kendall {100 * top_value:.2f}")
        print(log[-1], file=sys.stderr, flush=True)
        if top_value < best[0] + min_gain:
            break
        best = (top_value, top)
        kept = [m for _, m in ranked]
    return Ensemble(best[1], method), trace


def realtime_column(ens: Ensemble, dev: DevScores, keys: list[str], calib: EnsembleCalibration) -> np.ndarray:
    """Single-network scores of ``keys`` against a stored calibration."""
    return np.asarray([single_score(ens, dev.scores[k], calib, SENTINEL) for k in keys])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--space", required=True, choices=["micro", "macro"])
    ap.add_argument("--cache", type=Path, required=True, help="saswot rank --cache folder")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/issue15"))
    ap.add_argument("--search-samples", type=int, default=20)
    ap.add_argument("--val-samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-members", type=int, default=6)
    ap.add_argument("--min-gain", type=float, default=0.002)
    ap.add_argument("--write-calibration", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    dev = load_dev_scores(args.space, args.cache, args.data_root, args.seed)
    print(f"{args.space}: {len(dev.keys)} scored archs, {len(dev.search)} search / {len(dev.val)} validation, "
          f"{len(dev.proxies)} proxies", file=sys.stderr)
    rows = []
    result: dict = {"space": args.space, "n_search": len(dev.search), "n_val": len(dev.val),
                    "proxies": dev.proxies, "rows": {}, "seed": args.seed,
                    "search_keys": dev.search, "val_keys": dev.val}

    def report(name: str, search_col: np.ndarray, val_col: np.ndarray, note: str = "") -> None:
        s = sampled(search_col, dev.truths(dev.search), args.search_samples, SAMPLE_SIZE, args.seed)
        v = sampled(val_col, dev.truths(dev.val), args.val_samples, SAMPLE_SIZE, args.seed)
        result["rows"][name] = {"search": s, "val": v, "note": note}
        rows.append([name, fmt(s["kendall"]), fmt(v["kendall"]), fmt(v["spearman"]), fmt(v["pearson"]), note])

    for p in dev.proxies:
        report(p, dev.column(p, dev.search), dev.column(p, dev.val))
    az = Ensemble(("az_expressivity", "az_progressivity", "az_trainability", "az_complexity"), "logrank", alias="aznas")
    if all(m in dev.proxies for m in az.members):
        report("aznas", ensemble_column(az, dev, dev.search), ensemble_column(az, dev, dev.val), "fixed (AZ-NAS)")
    log: list[str] = []
    calib_keys = list(np.random.default_rng(args.seed).permutation(dev.search))[:100]
    calib = EnsembleCalibration.fit(
        {p: list(dev.column(p, calib_keys)) for p in dev.proxies},
        {"space": args.space, "archs": calib_keys, "seed": args.seed,
         "set": "100 unlabelled architectures of the search split, scored at the settings of `saswot rank`"},
    )
    chosen = {}
    for method in ("logrank", "avt"):
        ens, trace = greedy(dev, method, args.search_samples, args.seed, args.max_members, args.min_gain, log)
        chosen[method] = {"name": ens.name, "trace": trace}
        report(ens.name, ensemble_column(ens, dev, dev.search), ensemble_column(ens, dev, dev.val),
               f"chosen on search ({method})")
        report(ens.name + f"@{args.space}", realtime_column(ens, dev, dev.search, calib),
               realtime_column(ens, dev, dev.val, calib), "same, one network at a time (stored calibration)")
    result["chosen"] = chosen
    result["wall_s"] = time.time() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / f"ensembles-{args.space}.json", result)
    cols = ["proxy / ensemble", f"Kd search ({args.search_samples}×50)", f"Kd val ({args.val_samples}×50)",
            "Sp val", "Ps val", "note"]
    md = (f"{args.space}: {len(dev.search)} search / {len(dev.val)} validation archs, ×100, mean ± std\n\n"
          + table_to_markdown(cols, rows) + "\n\nGreedy selection:\n\n" + "\n".join(log) + "\n")
    write_text(args.out / f"ensembles-{args.space}.md", md)
    print(md)
    if args.write_calibration:
        path = Path(__file__).resolve().parent.parent / "saswot" / "data" / "ensemble" / f"{args.space}.json"
        calib.write(path)
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
