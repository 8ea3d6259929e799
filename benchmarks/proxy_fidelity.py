"""Fidelity record: our proxy scores vs NAS-Bench-Suite-Zero's recorded ones, and Table 3 three ways.

Given a ``saswot rank`` result JSON, prints (and writes with ``--out``) markdown with:

1. per proxy that NBSZ also recorded, Kendall tau between our score and NBSZ's score over the
   architectures of the result (NBSZ computed on Taskonomy images; we use CamVid or random data,
   so perfect agreement is not expected);
2. Table 3 (Kendall / Spearman / Pearson x100, mean +- std) from our scores (the result's own
   numbers), from NBSZ's recorded scores on the same architectures with the same random samples,
   and from NBSZ's scores over every dev architecture (``--reference-all``);
3. the paper's Table 3.

Example::

    SASWOT_DATA=/work/shared/data .venv/bin/python benchmarks/proxy_fidelity.py \
        --results runs/rank_micro.json --reference-all --out results/fidelity_micro.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scipy import stats

from saswot.spaces.tnb101.lookup import TNBBenchmark
from saswot.utils.correlation import correlation_table
from saswot.utils.io import read_json, write_text
from saswot.utils.tables import table_to_markdown

#: Proxies NAS-Bench-Suite-Zero recorded for TransNAS-Bench-101 (epe_nas failed there: -1e8).
NBSZ_PROXIES = ("grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "jacov", "snip", "params", "flops", "epe_nas")

#: SasWOT paper, Table 3 (Kd, Sp, Ps means, %), micro then macro.
PAPER_TABLE3 = {
    "fisher": (11.11, 15.20, 10.84, 7.66, 11.17, 5.99),
    "flops": (43.98, 62.55, 53.12, 51.18, 70.69, 46.72),
    "grad_norm": (38.83, 53.49, 22.48, 3.62, 5.49, 4.42),
    "grasp": (1.90, 3.02, 3.02, 0.66, 6.28, 4.18),
    "epe_nas": (53.48, 68.40, 66.29, 14.26, 19.15, 10.71),
    "jacov": (46.45, 62.53, 43.64, 10.31, 15.08, 19.80),
    "nwot": (36.7, 58.52, 52.09, 45.71, 66.09, 58.40),
    "params": (45.11, 63.96, 58.27, 1.22, 2.05, 1.56),
    "snip": (48.34, 64.17, 35.47, 17.17, 25.88, 24.38),
    "synflow": (45.36, 61.94, 51.83, 10.85, 16.82, 18.40),
    "zen": (48.27, 66.27, 43.64, 23.73, 34.78, 35.05),
    "saswot": (64.08, 83.98, 76.62, 52.76, 74.06, 67.97),
    "saswot_minus": (55.22, 77.63, 75.51, 28.92, 41.34, 37.06),
}


def _fmt(corr: dict) -> list[str]:
    return [
        f"{corr[m]['mean'] * 100:.2f} ± {corr[m]['std'] * 100:.2f}" if corr[m]["mean"] == corr[m]["mean"] else "nan"
        for m in ("kendall", "spearman", "pearson")
    ]


def reference_only(args: argparse.Namespace) -> str:
    """Table 3 from NBSZ's recorded scores over every dev architecture, beside the paper's."""
    space, task = args.space, "segmentsemantic"
    bm = TNBBenchmark.load(Path(args.bench) if args.bench else TNBBenchmark.default_path(space, args.data_root), space)
    keys = bm.keys(task)
    truth = [bm.ground_truth(k, task) for k in keys]
    scores = {p: [bm.reference_score(k, p, task) for k in keys] for p in NBSZ_PROXIES}
    scores = {p: v for p, v in scores.items() if all(x is not None for x in v)}
    corr = correlation_table(scores, truth, args.samples, args.sample_size, args.seed)
    off = 0 if space == "micro" else 3
    rows = []
    for p in NBSZ_PROXIES:
        if p not in corr:
            continue
        paper = PAPER_TABLE3.get(p)
        rows.append([p, *_fmt(corr[p]), *([f"{v:.2f}" for v in paper[off : off + 3]] if paper else ["—"] * 3)])
    head = (
        f"### {space}: NBSZ recorded scores, {len(keys)} dev archs, {args.samples} samples of {args.sample_size} "
        f"(seed {args.seed}), ×100\n"
    )
    return head + "\n" + table_to_markdown(
        ["proxy", "NBSZ Kd", "NBSZ Sp", "NBSZ Ps", "paper Kd", "paper Sp", "paper Ps"], rows
    )


def main() -> None:
    """Build the markdown."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=None, help="saswot rank result JSON")
    ap.add_argument("--bench", default=None)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--reference-all", action="store_true", help="also NBSZ's table over all dev archs")
    ap.add_argument("--out", default=None)
    ap.add_argument("--space", default=None, help="with --reference-only")
    ap.add_argument("--reference-only", action="store_true", help="only NBSZ's Table 3 over all dev archs + paper")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--sample-size", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.reference_only:
        text = reference_only(args)
        print(text)
        if args.out:
            write_text(args.out, text)
        return

    res = read_json(args.results, "rank result")
    space, task, cfg = res["space"], res["task"], res["config"]
    bm = TNBBenchmark.load(Path(args.bench) if args.bench else TNBBenchmark.default_path(space, args.data_root), space)
    keys = list(res["archs"])
    ours = {p: [res["archs"][k]["scores"][p] for k in keys] for p in cfg["proxies"]}
    truth = [res["archs"][k]["ground_truth"] for k in keys]
    shared = [p for p in NBSZ_PROXIES if p in ours]
    ref = {p: [bm.reference_score(k, p, task) for k in keys] for p in shared}
    lines = [f"### {space}: {len(keys)} architectures, batch {cfg['batch_size']}, {cfg['resolution']} px, data {cfg['data']}\n"]

    rows = []
    for p in shared:
        vals = ref[p]
        if any(v is None for v in vals):
            rows.append([p, "not recorded"])
            continue
        if len(set(vals)) == 1:
            rows.append([p, f"NBSZ constant ({vals[0]:g}; failed upstream)"])
            continue
        rows.append([p, f"{stats.kendalltau(ours[p], vals).statistic:.3f}"])
    lines.append("Kendall τ between our scores and NBSZ's recorded scores (same archs):\n")
    lines.append(table_to_markdown(["proxy", "τ(ours, NBSZ)"], rows))

    samples, size, seed = cfg["samples"], cfg["sample_size"], cfg["seed"]
    ref_ok = {p: v for p, v in ref.items() if all(x is not None for x in v)}
    ref_corr = correlation_table(ref_ok, truth, samples, size, seed)
    all_corr = {}
    if args.reference_all:
        all_keys = bm.keys(task)
        all_truth = [bm.ground_truth(k, task) for k in all_keys]
        all_corr = correlation_table(
            {p: [bm.reference_score(k, p, task) for k in all_keys] for p in ref_ok}, all_truth, samples, size, seed
        )
    off = 0 if space == "micro" else 3
    columns = ["proxy", "ours Kd", "ours Sp", "ours Ps", "NBSZ Kd", "NBSZ Sp", "NBSZ Ps"]
    if all_corr:
        columns += ["NBSZ-all Kd", "NBSZ-all Sp", "NBSZ-all Ps"]
    columns += ["paper Kd", "paper Sp", "paper Ps"]
    table = []
    for p in cfg["proxies"]:
        row = [p, *_fmt(res["correlation"][p])]
        row += _fmt(ref_corr[p]) if p in ref_corr else ["—"] * 3
        if all_corr:
            row += _fmt(all_corr[p]) if p in all_corr else ["—"] * 3
        paper = PAPER_TABLE3.get(p)
        row += [f"{v:.2f}" for v in paper[off : off + 3]] if paper else ["—"] * 3
        table.append(row)
    lines.append(
        f"\nTable 3 (×100, mean ± std over {samples} samples of {min(size, len(keys))} archs; NBSZ-all: "
        f"{samples} samples of {size} from all dev archs; paper: means only, 50 archs):\n"
    )
    lines.append(table_to_markdown(columns, table))
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_text(args.out, text)


if __name__ == "__main__":
    main()
