"""A fair Table 4: searched winners and the released network against the random networks of the ground truth.

For each method (the labels of ``--bench``: ``<method>-s<search seed>``, and ``fasterseg``): the mean
and spread of every (search seed, training seed) run, the percentile of that mean among the random
networks (single training runs, seed 0, same recipe and budget: the GMACs-stratified samples of the
ground truth), and a 95 % bootstrap interval of the difference to the random mean (search seeds,
then training seeds resampled; random networks resampled).

    python benchmarks/table4_fair.py --bench saswot/data/fasterseg/table4-fair-camvid.jsonl \
        --out benchmarks/out/table4-fair
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from saswot.utils.io import write_json, write_text
from saswot.utils.plots import _figure, _save
from saswot.workflows.minibench import RECIPES, BenchFile

DATA = Path(__file__).resolve().parents[1] / "saswot" / "data" / "fasterseg"
SAMPLED = re.compile(r"^g(\d+)-\d+$")


def random_distribution(files: list[Path], recipe_id: str, sample_seeds: set[int] | None = None,
                        git_prefix: str = "") -> tuple[np.ndarray, dict[str, int]]:
    """Seed-0 mIoU of every sampled (random, GMACs-stratified) network of recipe ``recipe_id`` in ``files``.

    ``sample_seeds`` keeps only the samples of those sample seeds (labels ``g<seed>-…``) and
    ``git_prefix`` only the runs trained by a commit starting with it. Returns the sorted values and
    how many of them each commit trained.
    """
    out: dict[str, tuple[float, str]] = {}
    for f in files:
        for e in BenchFile(f).entries():
            if e["recipe_id"] != recipe_id or e.get("miou") is None or int(e["seed"]) != 0:
                continue
            sha = str(e.get("git_sha") or "unknown")
            if git_prefix and not sha.startswith(git_prefix):
                continue
            for lab in str(e["label"]).split("+"):
                m = SAMPLED.match(lab)
                if m and (sample_seeds is None or int(m.group(1)) in sample_seeds):
                    out[e["key"]] = (float(e["miou"]), sha[:7])
                    break
    commits: dict[str, int] = defaultdict(int)
    for _, sha in out.values():
        commits[sha] += 1
    return np.asarray(sorted(v for v, _ in out.values())), dict(commits)


def method_runs(bench: Path, recipe_id: str) -> dict[str, dict[int, list[float]]]:
    """``{method: {search seed: [mIoU per training seed]}}`` (``fasterseg``: search seed 0)."""
    runs: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for e in BenchFile(bench).entries():
        if e["recipe_id"] != recipe_id or e.get("miou") is None:
            continue
        for label in str(e["label"]).split("+"):
            m = re.match(r"^(.*)-s(\d+)$", label)
            method, sseed = (m.group(1), int(m.group(2))) if m else (label, 0)
            runs[method][sseed].append(float(e["miou"]))
    return runs


def bootstrap_diff(groups: dict[int, list[float]], rand: np.ndarray, seed: int = 0, n: int = 5000) -> list[float]:
    """95 % interval of mean(method) − mean(random), resampling search seeds, training seeds and random networks."""
    rng = np.random.default_rng(seed)
    keys = list(groups)
    diffs = []
    for _ in range(n):
        picked = [groups[keys[i]] for i in rng.integers(0, len(keys), len(keys))]
        vals = np.concatenate([rng.choice(g, len(g)) for g in picked])
        diffs.append(vals.mean() - rng.choice(rand, len(rand)).mean())
    return [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))]


def figure(path: Path, rand: np.ndarray, rows: list[dict[str, Any]]) -> Path:
    """The random networks' mIoU as a histogram, each method's runs as dots and its mean as a line."""
    fig = _figure((6.4, 4.6))
    ax = fig.add_subplot()
    ax.hist(rand, bins=30, color="lightgrey", edgecolor="grey", label=f"random networks (n = {rand.size})")
    ax.axvline(float(np.percentile(rand, 90)), c="grey", ls=":", lw=1, label="90th percentile of random")
    top = ax.get_ylim()[1]
    ordered = sorted(rows, key=lambda x: -x["miou_mean"])
    for i, row in enumerate(ordered):
        y = top * (0.95 - 0.8 * i / max(1, len(ordered)))
        color = f"C{i}"
        ax.scatter(row["runs_miou"], [y] * len(row["runs_miou"]), s=12, color=color, zorder=3)
        ax.plot([row["miou_mean"]] * 2, [y - 0.04 * top, y + 0.04 * top], color=color, lw=2.5,
                label=f"{row['method']} (mean {row['miou_mean']:.3f}, {row['percentile_in_random']:.0f}th pct)")
    ax.set_xlabel("CamVid val mIoU (cpu-half-8ep)")
    ax.set_ylabel("random networks")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return _save(fig, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DATA / "table4-fair-camvid.jsonl")
    ap.add_argument("--truth", type=Path, nargs="*", default=[DATA / "minibench-camvid.jsonl",
                                                              DATA / "minibench-noise-camvid.jsonl",
                                                              DATA / "minibench-fidelity-camvid.jsonl"])
    ap.add_argument("--recipe", default="cpu-half-8ep", choices=sorted(RECIPES),
                    help="the recipe of the trainings compared (the fidelity check's choice)")
    ap.add_argument("--random-sample-seeds", type=int, nargs="*", default=None,
                    help="random networks from these sample seeds only (default: every sample)")
    ap.add_argument("--random-git", default="",
                    help="random networks trained by a commit starting with this only (same-code baseline)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/table4-fair"))
    args = ap.parse_args()
    recipe_id = RECIPES[args.recipe].recipe_id
    seeds = set(args.random_sample_seeds) if args.random_sample_seeds is not None else None
    rand, commits = random_distribution(args.truth, recipe_id, seeds, args.random_git)
    if rand.size < 2:
        ap.error(f"only {rand.size} random networks match (--random-sample-seeds {args.random_sample_seeds}, "
                 f"--random-git {args.random_git!r}); train the samples first or widen the filter")
    rows: list[dict[str, Any]] = []
    for method, groups in method_runs(args.bench, recipe_id).items():
        vals = np.concatenate([np.asarray(v) for v in groups.values()])
        mean = float(vals.mean())
        rows.append({
            "method": method, "search_seeds": sorted(groups), "runs": int(vals.size), "miou_mean": mean,
            "miou_std": float(vals.std(ddof=1)) if vals.size > 1 else 0.0,
            "miou_min": float(vals.min()), "miou_max": float(vals.max()),
            "percentile_in_random": float(100.0 * np.mean(rand < mean)),
            "diff_to_random_mean": mean - float(rand.mean()),
            "diff_ci95": bootstrap_diff(groups, rand) if rand.size else None,
            "runs_miou": [float(v) for v in vals],
        })
    doc = {
        "random": {"networks": int(rand.size), "mean": float(rand.mean()), "std": float(rand.std(ddof=1)),
                   "best": float(rand.max()), "p90": float(np.percentile(rand, 90)),
                   "sample_seeds": sorted(seeds) if seeds is not None else "all", "git_prefix": args.random_git,
                   "trained_by": commits},
        "methods": rows,
        "recipe": args.recipe,
        "recipe_id": recipe_id,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "table4-fair.json", doc)
    r = doc["random"]
    lines = [f"Random networks: {r['networks']}, mIoU mean {r['mean']:.4f} ± {r['std']:.4f}, "
             f"90th percentile {r['p90']:.4f}, best {r['best']:.4f} (sample seeds {r['sample_seeds']}; "
             f"trained by {', '.join(f'{k} ×{v}' for k, v in sorted(commits.items()))})", "",
             "| method | runs | mIoU mean ± std | min–max | percentile among random | diff to random mean (95 % CI) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in sorted(rows, key=lambda x: -x["miou_mean"]):
        ci = row["diff_ci95"]
        lines.append(f"| {row['method']} | {row['runs']} | {row['miou_mean']:.4f} ± {row['miou_std']:.4f} | "
                     f"{row['miou_min']:.4f}–{row['miou_max']:.4f} | {row['percentile_in_random']:.0f} | "
                     f"{row['diff_to_random_mean']:+.4f} ({ci[0]:+.4f}, {ci[1]:+.4f}) |")
    lines += ["", f"Figure: {figure(args.out / 'table4-fair.png', rand, rows)}"]
    write_text(args.out / "table4-fair.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
