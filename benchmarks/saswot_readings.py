"""Which reading of SasWOT- (paper Eq. 2) reproduces the paper? A study over every reading.

Eq. 2, ``sum_l (softmax(W_l) < ReLU(dL/dW_l))``, leaves four choices open (see
:mod:`saswot.proxies.measures.saswot_minus`): the softmax axis (dim0, dim1, last, flat, filter), the loss
reduction behind dL/dW (mean or sum over valid pixels), the per-layer reduction (count or
fraction) and the aggregation over layers (sum or mean): 40 readings.

``grid`` runs ONE statistics pass per network (the ``saswot rank`` defaults: CamVid, batch 4,
64 x 64, seed 0) over all development architectures of a space, stores the per-layer counts of
every (axis, loss) pair (the sum-reduced gradient is the mean-reduced one times the number of
valid pixels, so no second pass) and scores every reading from them: Kendall / Spearman /
Pearson x100, mean +- std over 10 random samples of 50 architectures (seed 0, as ``saswot rank``).

Selection criterion (fixed before the study was run):

* distance of a reading = Euclidean distance of its (micro Kendall, macro Kendall) means x100 to
  the paper's SasWOT- pair (55.22, 28.92);
* sampling noise of a reading = standard error of that distance from the 10 samples,
  ``sqrt(std_micro^2 + std_macro^2) / sqrt(10)`` (std over the 10 samples, x100);
* the shipped reading is the simplest (:attr:`Reading.complexity`) among the readings whose
  distance is within the noise of the closest reading (distance <= d_best + noise_best); ties go
  to the smaller distance. Fidelity decides, not the best ranking.

``sensitivity`` re-runs the pass on a seeded subset (``--n-archs`` per space, sample seed 2026)
under other proxy batches (batch 8 / 16, resolution 128 / 256, random input instead of CamVid)
and reports how the top readings of the grid (and the previous default) move.

``report`` writes the markdown (``benchmarks/out/saswot_readings/report.md``) and JSON from
whatever was collected. Every command resumes from its raw files.

``avt`` rewrites the shipped saswot_minus AVT range (``saswot/data/avt/<space>.json``) for the
shipped reading from the grid's pass; ``table3`` writes the saswot_minus rows over all dev archs.

Example (2-core CPU, run in the background; ``--reverse`` starts a second worker on the same list
from the other end, into its own file, merged when read)::

    export OMP_NUM_THREADS=1 SASWOT_DATA=/work/shared/data
    python benchmarks/saswot_readings.py grid --space micro      # and: grid --space micro --reverse
    python benchmarks/saswot_readings.py grid --space macro
    python benchmarks/saswot_readings.py sensitivity --space micro --configs random,b8,b16,r128,r256 \
        --n-archs 20 --pairs filter/mean,dim0/mean
    python benchmarks/saswot_readings.py report
    python benchmarks/saswot_readings.py avt --space micro && python benchmarks/saswot_readings.py table3
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saswot.runtime.allocator import collect_on_exit
from saswot.spaces.tnb101.lookup import TNBBenchmark
from saswot.utils.correlation import correlation_table, correlations
from saswot.utils.io import read_json, write_json, write_text
from saswot.runtime.progress import make_progress
from saswot.proxies._avt import AVTStats
from saswot.proxies.measures.saswot_minus import (
    PAPER_READING,
    V1_READING,
    Reading,
    aggregate,
    all_readings,
    count_table,
    valid_pixels,
)
from saswot.datasets.proxy_batch import camvid_available, make_batch
from saswot.config import ProxyBatch
from saswot.workflows.score import cache_settings
from saswot.runtime.seeding import make_rng
from saswot.proxies._stats import collect_stats
from saswot.utils.tables import table_to_markdown
from saswot.spaces.tnb101.builder import build_network

#: The paper's SasWOT- Kendall x100 (Table 3): micro, macro.
PAPER_KENDALL = {"micro": 55.22, "macro": 28.92}
SPACES = ("micro", "macro")
OUT_DIR = Path("benchmarks/out/saswot_readings")
SAMPLES, SAMPLE_SIZE, SAMPLE_SEED = 10, 50, 0
#: Seed of the architecture subset of the sensitivity runs.
SUBSET_SEED = 2026
NUM_CLASSES = 17


@dataclass(frozen=True)
class BatchConfig:
    """The proxy batch of one statistics pass."""

    name: str
    batch_size: int = 4
    resolution: int = 64
    data: str = "camvid"
    seed: int = 0


#: The default batch (``saswot rank``) and the sensitivity variants (one change each).
CONFIGS = {
    c.name: c
    for c in (
        BatchConfig("default"),
        BatchConfig("b8", batch_size=8),
        BatchConfig("b16", batch_size=16),
        BatchConfig("r128", resolution=128),
        BatchConfig("r256", resolution=256),
        BatchConfig("random", data="random"),
    )
}


def raw_path(space: str, config: str, subset: int | None) -> Path:
    """Raw per-architecture counts of one space and batch (``subset``: size of the seeded subset)."""
    tag = "all" if subset is None else f"sub{subset}"
    return OUT_DIR / f"raw_{space}_{config}_{tag}.json"


def load_raw(space: str, config: str, subset: int | None) -> dict[str, Any]:
    """Stored counts ``{arch key: record}`` of one space and batch, merged over the worker files."""
    path = raw_path(space, config, subset)
    merged: dict[str, Any] = {}
    for part in (path, path.with_suffix(".rev.json")):
        if part.is_file():
            merged.update(read_json(part)["archs"])
    return merged


def collect_counts(
    space: str,
    cfg: BatchConfig,
    subset: int | None,
    data_root: str | None,
    limit: int | None = None,
    pairs: Sequence[str] | None = None,
    reverse: bool = False,
) -> dict[str, Any]:
    """Run one statistics pass per architecture and store per-layer counts (resumable).

    ``pairs`` limits the stored (axis, loss) pairs (the sensitivity runs keep only those of the
    readings they report; the count costs more than the pass at 64 px).

    Returns:
        ``{"config": ..., "archs": {key: {"n_valid", "numel", "counts": {"axis/loss": [...]}}}}``.
    """
    bench = TNBBenchmark.load(TNBBenchmark.default_path(space, data_root), space)
    archs = bench.archs() if subset is None else bench.sample(subset, make_rng(SUBSET_SEED))
    if limit is not None:
        archs = archs[:limit]
    main_path = raw_path(space, cfg.name, subset)
    path, other = (main_path.with_suffix(".rev.json"), main_path) if reverse else (main_path, main_path.with_suffix(".rev.json"))
    if reverse:  # a second worker: the same list from the other end, into its own file
        archs = archs[::-1]
    data = read_json(path) if path.is_file() else {"config": cfg.__dict__, "space": space, "archs": {}}
    done: dict[str, Any] = data["archs"]
    elsewhere: set[str] = set()
    if cfg.data == "camvid" and not camvid_available(data_root):
        raise SystemExit("CamVid not found: set SASWOT_DATA or --data-root")
    images, labels = make_batch(cfg.data, cfg.batch_size, (cfg.resolution, cfg.resolution), NUM_CLASSES, cfg.seed, data_root)
    n_valid = valid_pixels(labels)
    start, last_save, last_look = time.monotonic(), time.monotonic(), -math.inf
    with make_progress() as bar:
        task = bar.add_task(f"{space} {cfg.name}", total=len(archs), status="")
        for arch in archs:
            if time.monotonic() - last_look > 30:  # what the other worker has stored
                elsewhere = set(read_json(other)["archs"]) if other.is_file() else set()
                last_look = time.monotonic()
            if arch.key not in done and arch.key not in elsewhere:
                with collect_on_exit():
                    model = build_network(arch, NUM_CLASSES, seed=cfg.seed)
                    stats = collect_stats(model, images, labels, need_input_grad=False, need_nwot=False)
                    done[arch.key] = {
                        "n_valid": n_valid,
                        "numel": [layer.weight.numel() for layer in stats.layers],
                        "counts": count_table(stats.layers, n_valid, pairs),
                    }
                    del model, stats
                if time.monotonic() - last_save > 60:
                    write_json(path, data, indent=None)
                    last_save = time.monotonic()
            bar.advance(task)
    data["seconds_last_run"] = time.monotonic() - start
    write_json(path, data, indent=None)
    return data


def reading_scores(raw: Mapping[str, Any], keys: Sequence[str], reading: Reading) -> list[float]:
    """SasWOT- under ``reading`` for ``keys`` from stored counts."""
    field = f"{reading.axis}/{reading.loss}"
    return [
        aggregate(raw[k]["counts"][field], raw[k]["numel"], reading.per_layer, reading.over_layers) for k in keys
    ]


def score_grid(raw: Mapping[str, Any], truth: Mapping[str, float], readings: Sequence[Reading]) -> dict[str, Any]:
    """Correlations x100 (mean, std over the samples) of every reading on the stored archs."""
    keys = [k for k in truth if k in raw]  # benchmark file order: the samples of `saswot rank`
    gt = [truth[k] for k in keys]
    table = correlation_table(
        {r.key: reading_scores(raw, keys, r) for r in readings}, gt, SAMPLES, SAMPLE_SIZE, SAMPLE_SEED
    )
    return {
        r.key: {m: {"mean": 100 * v["mean"], "std": 100 * v["std"]} for m, v in table[r.key].items()} for r in readings
    } | {"_n": len(keys)}


def distance(micro: float, macro: float) -> float:
    """Euclidean distance of (micro, macro) Kendall x100 to the paper's pair (NaN stays NaN)."""
    return math.hypot(micro - PAPER_KENDALL["micro"], macro - PAPER_KENDALL["macro"])


def rank_readings(grids: Mapping[str, Mapping[str, Any]], readings: Sequence[Reading]) -> list[dict[str, Any]]:
    """Rows sorted by distance to the paper: reading, its correlations, distance and noise."""
    rows = []
    for r in readings:
        mi, ma = grids["micro"][r.key], grids["macro"][r.key]
        d = distance(mi["kendall"]["mean"], ma["kendall"]["mean"])
        noise = math.hypot(mi["kendall"]["std"], ma["kendall"]["std"]) / math.sqrt(SAMPLES)
        rows.append({"reading": r.key, "complexity": r.complexity, "distance": d, "noise": noise, "micro": mi, "macro": ma})
    return sorted(rows, key=lambda row: (math.inf if math.isnan(row["distance"]) else row["distance"]))


def choose(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Apply the selection criterion of the module doc to rows sorted by distance."""
    best = rows[0]
    bound = best["distance"] + best["noise"]
    within = [r for r in rows if r["distance"] <= bound]
    chosen = min(within, key=lambda r: (r["complexity"], r["distance"]))
    return {"best": best["reading"], "bound": bound, "within_noise": [r["reading"] for r in within], "chosen": chosen["reading"]}


def _cell(entry: Mapping[str, Any], metric: str) -> str:
    m, s = entry[metric]["mean"], entry[metric]["std"]
    return "nan" if math.isnan(m) else f"{m:.2f} ± {s:.2f}"


def grid_markdown(rows: Sequence[Mapping[str, Any]], top: int, extra: Sequence[str]) -> str:
    """Top-``top`` rows plus the readings in ``extra`` as a markdown table."""
    shown = [(i + 1, r) for i, r in enumerate(rows) if i < top or r["reading"] in extra]
    cols = ["#", "reading (axis/loss/per-layer/over-layers)", "micro Kd", "micro Sp", "micro Ps",
            "macro Kd", "macro Sp", "macro Ps", "distance", "noise"]
    body = [
        [i, r["reading"], *(_cell(r["micro"], m) for m in ("kendall", "spearman", "pearson")),
         *(_cell(r["macro"], m) for m in ("kendall", "spearman", "pearson")), f"{r['distance']:.2f}", f"{r['noise']:.2f}"]
        for i, r in shown
    ]
    return table_to_markdown(cols, body)


def _truth(space: str, data_root: str | None) -> dict[str, float]:
    return TNBBenchmark.load(TNBBenchmark.default_path(space, data_root), space).ground_truths()


def report(data_root: str | None, top: int) -> str:
    """Assemble the markdown + JSON report from the raw files present."""
    readings = all_readings()
    lines = ["# SasWOT- readings study", ""]
    out: dict[str, Any] = {"paper_kendall": PAPER_KENDALL, "samples": SAMPLES, "sample_size": SAMPLE_SIZE}
    grids = {}
    for space in SPACES:
        raw = load_raw(space, "default", None)
        if raw:
            grids[space] = score_grid(raw, _truth(space, data_root), readings)
    sens_keys: list[str] = [V1_READING.key, PAPER_READING.key]
    if len(grids) == 2:
        rows = rank_readings(grids, readings)
        pick = choose(rows)
        out.update(grid=rows, choice=pick, n_archs={s: grids[s]["_n"] for s in SPACES})
        lines += [
            (
                f"All dev archs (micro {grids['micro']['_n']}, macro {grids['macro']['_n']}), batch 4 CamVid 64 px, "
                f"x100, mean ± std over {SAMPLES} samples of {SAMPLE_SIZE}. Distance to the paper's "
                f"({PAPER_KENDALL['micro']}, {PAPER_KENDALL['macro']}); noise = sqrt(std_mi² + std_ma²)/sqrt({SAMPLES})."
            ),
            "",
            grid_markdown(rows, top, [V1_READING.key, PAPER_READING.key, pick["chosen"]]),
            "",
            (
                f"Closest: {pick['best']}; bound d_best + noise = {pick['bound']:.2f}; within noise: "
                f"{', '.join(pick['within_noise'])}; chosen (simplest within noise): **{pick['chosen']}**."
            ),
            "",
        ]
        sens_keys = [r["reading"] for r in rows[:5]]
        sens_keys += [k for k in (pick["chosen"], V1_READING.key, PAPER_READING.key) if k not in sens_keys]
    sens_rows = []
    sens: dict[str, Any] = {}
    for space in SPACES:
        truth = _truth(space, data_root)
        full = load_raw(space, "default", None)
        for path in sorted(OUT_DIR.glob(f"raw_{space}_*_sub*[0-9].json")):
            raw = read_json(path)
            cfg = raw["config"]["name"]
            keys = [k for k in truth if k in raw["archs"]]
            if len(keys) < 3:
                continue
            have = set(raw["archs"][keys[0]]["counts"])
            shown = [k for k in sens_keys if f"{Reading.parse(k).axis}/{Reading.parse(k).loss}" in have]
            base_keys = [k for k in keys if k in full]
            row: dict[str, Any] = {"space": space, "batch": cfg, "archs": len(keys), "kendall": {}, "default_same_archs": {}}
            for k in shown:
                r = Reading.parse(k)
                row["kendall"][k] = 100 * correlations(reading_scores(raw["archs"], keys, r), [truth[a] for a in keys])["kendall"]
                if len(base_keys) == len(keys):
                    row["default_same_archs"][k] = 100 * correlations(
                        reading_scores(full, keys, r), [truth[a] for a in keys])["kendall"]
            sens[f"{space}/{cfg}"] = row
            sens_rows.append([space, f"{cfg} (subset {path.stem.rsplit('_', 1)[-1]})", len(keys), *(
                f"{row['kendall'][k]:.1f} (default {row['default_same_archs'][k]:.1f})"
                if k in row["kendall"] and k in row["default_same_archs"]
                else (f"{row['kendall'][k]:.1f}" if k in row["kendall"] else "—")
                for k in sens_keys)])
    if sens_rows:
        out["sensitivity"] = sens
        lines += [
            "## Sensitivity to the proxy batch",
            "",
            (
                f"Kendall τ x100 over the whole seeded subset (sample seed {SUBSET_SEED}); in brackets the same "
                "archs at the default batch (CamVid, batch 4, 64 px)."
            ),
            "",
            table_to_markdown(["space", "batch", "archs", *sens_keys], sens_rows),
            "",
        ]
    text = "\n".join(lines)
    write_text(OUT_DIR / "report.md", text)
    write_json(OUT_DIR / "report.json", out)
    return text


def write_avt(space: str, data_root: str | None, n: int = 200, sample_seed: int = 2024) -> AVTStats:
    """Recalibrate the shipped saswot_minus AVT range of ``space`` for :data:`PAPER_READING`.

    The range is taken over the seeded sample ``saswot avt-calibrate`` uses (``n`` archs, sample
    seed 2024) from the study's statistics pass (the batch and settings of ``saswot rank``). The
    nwot range is kept: NWOT's definition, the sample and the settings are unchanged (checked:
    the shipped file lists the same architectures and settings).
    """
    bench = TNBBenchmark.load(TNBBenchmark.default_path(space, data_root), space)
    keys = [a.key for a in bench.sample(n, make_rng(sample_seed))]
    old = AVTStats.load(space)
    cfg = CONFIGS["default"]
    settings = cache_settings(space, ProxyBatch(batch_size=cfg.batch_size, resolution=(cfg.resolution, cfg.resolution),
                                                data=cfg.data, seed=cfg.seed))
    if list(old.meta.get("archs", [])) != keys or old.meta.get("settings") != settings:
        raise SystemExit(f"the shipped AVT file of {space} was made on other archs/settings: recalibrate nwot too")
    raw = load_raw(space, "default", None)
    values = reading_scores(raw, keys, PAPER_READING)
    v1 = reading_scores(raw, keys, V1_READING)
    print(f"{space}: shipped saswot_minus range {old.ranges['saswot_minus']}, the study's {V1_READING.key} over the "
          f"same archs ({min(v1)}, {max(v1)}) (must agree: same pass)")
    ranges = dict(old.ranges)
    ranges["saswot_minus"] = (min(values), max(values))
    meta = dict(old.meta)
    meta["saswot_minus_reading"] = PAPER_READING.key
    meta["command"] = (
        f"python benchmarks/saswot_readings.py avt --space {space} (saswot_minus: min/max of the shipped reading over "
        f"these {n} archs from the readings study's statistics pass; nwot: kept from `{old.meta.get('command', '')}`)"
    )
    stats = AVTStats(ranges=ranges, meta=meta)
    stats.write(Path("saswot/data/avt") / f"{space}.json")
    return stats


def table3(data_root: str | None) -> str:
    """saswot_minus (shipped reading) and saswot_minus_v1 over all dev archs from the study's pass,
    10 samples of 50 (seed 0, the samples of ``saswot rank``); writes table3.md / .json."""
    from proxy_fidelity import PAPER_TABLE3  # the paper's Table 3, beside this script

    lines, out = [], {}
    for space in SPACES:
        truth = _truth(space, data_root)
        raw = load_raw(space, "default", None)
        keys = [k for k in truth if k in raw]
        scores = {"saswot_minus": reading_scores(raw, keys, PAPER_READING), "saswot_minus_v1": reading_scores(raw, keys, V1_READING)}
        corr = correlation_table(scores, [truth[k] for k in keys], SAMPLES, SAMPLE_SIZE, SAMPLE_SEED)
        out[space] = {"n": len(keys), "correlation": corr, "scores": dict(zip(keys, scores["saswot_minus"]))}
        off = 0 if space == "micro" else 3
        rows = []
        for name, c in corr.items():
            paper = PAPER_TABLE3.get(name) if name == "saswot_minus" else None
            rows.append([name, *(f"{100 * c[m]['mean']:.2f} ± {100 * c[m]['std']:.2f}" for m in ("kendall", "spearman", "pearson")),
                         *([f"{v:.2f}" for v in paper[off:off + 3]] if paper else ["—"] * 3)])
        lines += [f"### {space}: {len(keys)} dev archs, CamVid batch 4 at 64 px, seed 0, x100, {SAMPLES} samples of {SAMPLE_SIZE}", "",
                  table_to_markdown(["proxy", "Kd", "Sp", "Ps", "paper Kd", "paper Sp", "paper Ps"], rows), ""]
    text = "\n".join(lines)
    write_text(OUT_DIR / "table3.md", text)
    write_json(OUT_DIR / "table3.json", out)
    return text


def main() -> None:
    """CLI: grid | sensitivity | report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("grid", "sensitivity", "report", "avt", "table3"))
    ap.add_argument("--space", choices=SPACES, default="micro")
    ap.add_argument("--configs", default="b8,b16,r128,r256,random", help="sensitivity batches (and default)")
    ap.add_argument("--n-archs", type=int, default=100, help="sensitivity subset size per space")
    ap.add_argument("--limit", type=int, default=None, help="only the first N archs (cost estimate)")
    ap.add_argument("--pairs", default=None, help="sensitivity: only these axis/loss pairs, e.g. dim1/sum,flat/mean")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--reverse", action="store_true", help="grid: a second worker, from the end of the list")
    args = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    if args.command == "grid":
        collect_counts(args.space, CONFIGS["default"], None, args.data_root, args.limit, reverse=args.reverse)
    elif args.command == "sensitivity":
        for name in [c.strip() for c in args.configs.split(",") if c.strip()]:
            pairs = [p.strip() for p in args.pairs.split(",")] if args.pairs else None
            collect_counts(args.space, CONFIGS[name], args.n_archs, args.data_root, args.limit, pairs)
    elif args.command == "avt":
        stats = write_avt(args.space, args.data_root)
        print(f"{args.space}: {dict(stats.ranges)}")
        return
    elif args.command == "table3":
        print(table3(args.data_root))
        return
    print(report(args.data_root, args.top))


if __name__ == "__main__":
    main()
