"""CLI: ``saswot minibench run|status|rank`` – a trained FasterSeg-space ground truth.

Thin layer over :mod:`saswot.workflows.minibench`: parse options, build the job list (sampled under the
budget or given as arch files), call the library, print a table, write JSON.
"""

from __future__ import annotations

import math
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from saswot.cli._options import build_config
from saswot.cli.arch_cmd import parse_resolution
from saswot.config import ProxyBatch
from saswot.errors import NA_PREFIX, PARTIAL_EXIT, SaswotError
from saswot.runtime.threads import apply_threads, choose_threads
from saswot.spaces.fasterseg import FasterSegArch, load_arch
from saswot.spaces.fasterseg.arch import save_arch
from saswot.spaces.fasterseg.benchfile import BenchFile, load_bench
from saswot.utils.io import read_json, write_json
from saswot.utils.tables import print_table

app = typer.Typer(
    name="minibench",
    help="Trained FasterSeg-space ground truth on CamVid: sample, train, evaluate; correlate proxies with it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_ARCH_HELP = "Train these arch files (or built-in names, e.g. fasterseg) instead of sampling; repeatable."


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SaswotError(f"--seeds must be comma-separated integers, e.g. 0,1 (got '{text}')") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise SaswotError(f"--seeds must list distinct integers (got '{text}')")
    return seeds


def _jobs(
    arch: Optional[list[str]], k: int, sample_seed: int, max_gmacs: float, seeds: str, first: Optional[int] = None
) -> list[Any]:

    from saswot.workflows.minibench import make_jobs, sampled_jobs

    if arch:
        labels = [Path(a).stem if a.endswith(".json") else a for a in arch]
        jobs = make_jobs([(lab, load_arch(a)) for lab, a in zip(labels, arch, strict=True)], _seeds(seeds))
    else:
        jobs = sampled_jobs(k, sample_seed, _seeds(seeds), max_gmacs=max_gmacs)
    return jobs if first is None else jobs[:first]


#: The options that define a job list, shared by ``run`` and ``status`` (a factory each: typer
#: needs a fresh option object per command).
_JOB_OPTIONS: dict[str, Callable[[], Any]] = {
    "k": lambda: typer.Option(32, "--k", min=1, help="Architectures to sample (ignored with --arch)."),
    "sample_seed": lambda: typer.Option(0, "--sample-seed", help="Seed of the GMACs-stratified sample."),
    "max_gmacs": lambda: typer.Option(
        27.8, "--max-gmacs", help="Budget: GMACs at 1024x2048, 19 classes (search-arch)."
    ),
    "arch": lambda: typer.Option(None, "--arch", help=_ARCH_HELP),
    "seeds": lambda: typer.Option("0", "--seeds", help="Training seeds, comma-separated."),
    "recipe": lambda: typer.Option("cpu-half-8ep", "--recipe", help="Recipe name or recipe JSON file."),
    "work": lambda: typer.Option(None, "--work", help="Job folders and claims (default runs/minibench/<bench>)."),
    "first": lambda: typer.Option(
        None,
        "--first",
        min=1,
        help="Only the first N jobs of the list (sampled lists are in spread order: any prefix covers the GMACs range).",
    ),
}


def _default_work(bench: Path) -> Path:
    return Path("runs") / "minibench" / bench.stem


def run(
    bench: Path = typer.Option(..., "--bench", help="Benchmark file (JSON lines; appended, shared by workers)."),
    k: int = _JOB_OPTIONS["k"](),
    sample_seed: int = _JOB_OPTIONS["sample_seed"](),
    max_gmacs: float = _JOB_OPTIONS["max_gmacs"](),
    arch: Optional[list[str]] = _JOB_OPTIONS["arch"](),
    seeds: str = _JOB_OPTIONS["seeds"](),
    recipe: str = _JOB_OPTIONS["recipe"](),
    work: Optional[Path] = _JOB_OPTIONS["work"](),
    first: Optional[int] = _JOB_OPTIONS["first"](),
    data_root: Optional[str] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    threads: int = typer.Option(
        1, "--threads", min=1, help="torch CPU threads of this worker (with --ray: Ray CPUs and threads per job)."
    ),
    workers: int = typer.Option(0, "--workers", min=0, help="DataLoader workers."),
    lease_s: float = typer.Option(1800.0, "--lease-s", help="A claim not renewed for this long is taken over."),
    max_jobs: Optional[int] = typer.Option(None, "--max-jobs", min=1, help="Stop after this many jobs."),
    no_latency: bool = typer.Option(False, "--no-latency", help="Do not estimate LUT latency."),
    keep_checkpoints: bool = typer.Option(False, "--keep-checkpoints", help="Keep last.pt/best.pt of finished jobs."),
    curve_evals: bool = typer.Option(
        False,
        "--curve-evals",
        help="Evaluate every eval_every epochs of the recipe for a learning curve (default: only after the last "
        "epoch, which is the benchmark value either way).",
    ),
    no_channels_last: bool = typer.Option(
        False, "--no-channels-last", help="Train in contiguous (NCHW) memory format instead of channels-last."
    ),
    ray: Optional[str] = typer.Option(
        None,
        "--ray",
        metavar="[ADDRESS]",
        help="Train the jobs as Ray tasks: give a cluster address, or --ray alone for a local instance "
        '(needs pip install "saswot\\[ray]"); only this process writes the benchmark file.',
    ),
    ray_gpus: float = typer.Option(0.0, "--ray-gpus", min=0.0, help="With --ray: GPU fraction per job (0: CPU)."),
) -> None:
    """Train every unfinished job and append its result; resumable, several workers may share the file."""
    from saswot.workflows.minibench import BenchFile, RunContext, resolve_recipe, run_worker
    from saswot.workflows.minibench.ray_driver import run_ray

    apply_threads(choose_threads(threads))  # for this process; each job finds the count in force
    rec = resolve_recipe(recipe)
    jobs = _jobs(arch, k, sample_seed, max_gmacs, seeds, first)
    ctx = RunContext(
        work or _default_work(bench),
        data_root=data_root,
        device=device,
        threads=threads,
        workers=workers,
        latency=not no_latency,
        lease_s=lease_s,
        command="saswot " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        keep_checkpoints=keep_checkpoints,
        channels_last=not no_channels_last,
        curve_evals=curve_evals,
    )
    err = Console(stderr=True, highlight=False)
    if ray is not None:
        written = run_ray(
            jobs,
            rec,
            BenchFile(bench),
            ctx,
            address=ray,
            cpus=threads,
            gpus=ray_gpus,
            max_jobs=max_jobs,
            log=err.print,
        )
    else:
        written = run_worker(jobs, rec, BenchFile(bench), ctx, max_jobs=max_jobs, log=err.print)
    err.print(f"[minibench] this worker appended {len(written)} entr{'y' if len(written) == 1 else 'ies'} to {bench}")


def status(
    bench: Path = typer.Option(..., "--bench", help="Benchmark file."),
    k: int = _JOB_OPTIONS["k"](),
    sample_seed: int = _JOB_OPTIONS["sample_seed"](),
    max_gmacs: float = _JOB_OPTIONS["max_gmacs"](),
    arch: Optional[list[str]] = _JOB_OPTIONS["arch"](),
    seeds: str = _JOB_OPTIONS["seeds"](),
    recipe: str = _JOB_OPTIONS["recipe"](),
    work: Optional[Path] = _JOB_OPTIONS["work"](),
    first: Optional[int] = _JOB_OPTIONS["first"](),
) -> None:
    """Done / total, ETA and the finished entries of a job list."""
    from saswot.workflows.minibench import BenchFile, Claims, entry_id, progress_of, resolve_recipe

    rec = resolve_recipe(recipe)
    jobs = _jobs(arch, k, sample_seed, max_gmacs, seeds, first)
    bf = BenchFile(bench)
    claims = Claims((work or _default_work(bench)) / "claims")
    want = {entry_id(j.key, rec.recipe_id, j.seed) for j in jobs}
    rows = [
        [
            e["label"],
            e["seed"],
            round(e["params_m"], 3),
            round(e["gmacs"], 2),
            e.get("latency_ms") if e.get("latency_ms") is not None else "-",
            "diverged" if e.get("miou") is None else round(e["miou"], 4),
            round(e["wall_s"] / 60, 1),
        ]
        for e in bf.entries()
        if entry_id(e["key"], e["recipe_id"], e["seed"]) in want
    ]
    for j in jobs:
        claim = claims.active(j.job_id(rec))
        if claim is None:
            continue
        metrics = claims.folder.parent / "jobs" / j.job_id(rec) / "metrics.jsonl"
        done = len(metrics.read_text().splitlines()) if metrics.is_file() else 0
        rows.append([j.label, j.seed, "-", "-", "-", f"running, epoch {done}/{rec.epochs}", claim["owner"]])
    print_table(
        f"{bench}: {progress_of(jobs, rec, bf, claims, include_self=False).line()}",
        ["label", "seed", "params (M)", "GMACs", "latency (ms)", "val mIoU", "wall (min)"],
        rows,
    )


def rank(
    bench: list[Path] = typer.Option(
        ..., "--bench", help="Benchmark file written by `minibench run`; repeat to pool several files of one recipe."
    ),
    proxies: str = typer.Option(
        "saswot,saswot_minus,nwot,synflow,flops,params",
        "--proxies",
        help="all, or NAME,NAME,... (a NAME may be a proxy .json file).",
    ),
    recipe_id: Optional[str] = typer.Option(None, "--recipe-id", help="Entries of this recipe (if the file mixes)."),
    proxy_resolution: str = typer.Option("256x512", "--proxy-resolution", help="HxW of the proxy batch."),
    batch_size: int = typer.Option(2, "--batch-size", min=1, help="Images in the proxy batch."),
    num_classes: int = typer.Option(19, "--num-classes", help="Classes of the scored networks."),
    seed: int = typer.Option(0, "--seed", help="Weights, batch and AVT seed."),
    data: str = typer.Option("camvid", "--data", help="camvid | random"),
    data_root: Optional[str] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
    avt_samples: int = typer.Option(20, "--avt-samples", min=2, help="AVT calibration architectures."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1, help="torch CPU threads (default: OMP_NUM_THREADS if set, else the free cores)."
    ),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Folder for proxy-vs-mIoU scatter plots."),
    out: Optional[Path] = typer.Option(None, "--out", help="Result JSON."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Kendall / Spearman / Pearson of proxies vs trained mIoU over the benchmark's architectures."""
    from saswot.utils.plots import proxy_scatter_plots

    groups = load_bench(bench, recipe_id)  # a missing or mixed file is reported before torch is imported
    apply_threads(choose_threads(threads))
    from saswot.proxies import SENTINEL
    from saswot.workflows.minibench import bench_correlations, proxy_settings_json, score_bench_archs

    diverged = sorted(
        {
            e["label"]
            for b in bench
            for e in BenchFile(b).entries()
            if e.get("miou") is None and (recipe_id is None or e["recipe_id"] == recipe_id)
        }
    )
    names_txt = " + ".join(str(b) for b in bench)
    if len(groups) < 2:
        raise SaswotError(f"'{names_txt}' has {len(groups)} finished architecture(s); need at least 2 to correlate")
    keys = list(groups)
    archs = [FasterSegArch.from_json(groups[k]["arch"]) for k in keys]
    truth = [groups[k]["miou"] for k in keys]
    res = parse_resolution(proxy_resolution, "--proxy-resolution")
    batch = build_config(ProxyBatch, locals(), resolution=res)
    names = _all_proxies() if proxies.strip() == "all" else [p.strip() for p in proxies.split(",") if p.strip()]
    failed: dict[str, dict[str, str]] = {}
    scores, avts = score_bench_archs(
        archs, names, batch, avt_samples=avt_samples, data_root=data_root, progress=not quiet, failed=failed
    )
    corr = bench_correlations(scores, truth)
    if plots is not None:
        proxy_scatter_plots(
            scores,
            truth,
            plots,
            kendall={n: c["kendall"] for n, c in corr.items()},
            sentinel=SENTINEL,
            ylabel="trained val mIoU",
        )
    result = {
        "bench": [str(b) for b in bench],
        "n_archs": len(keys),
        "diverged": diverged,
        "settings": proxy_settings_json(batch, avt_samples),
        "correlations": corr,
        "archs": [
            {
                "key": k,
                "label": groups[k]["label"],
                "miou": groups[k]["miou"],
                "seeds": groups[k]["seeds"],
                "gmacs": groups[k]["gmacs"],
                "params_m": groups[k]["params_m"],
                "scores": {n: scores[n][i] for n in scores},
            }
            for i, k in enumerate(keys)
        ],
        "avt": avts,
        "failures": failed,
    }
    if out is not None:
        write_json(out, result)

    def order(item: tuple[str, dict[str, Any]]) -> float:
        tau = item[1]["kendall"]
        return 9.0 if math.isnan(tau) else -tau  # NaN last

    rows = [
        [n, c["n"], round(100 * c["kendall"], 1), round(100 * c["spearman"], 1), round(100 * c["pearson"], 1)]
        for n, c in sorted(corr.items(), key=order)
    ]
    note = f"; {len(diverged)} diverged run(s) left out" if diverged else ""
    print_table(
        f"{names_txt}: proxies vs trained val mIoU over {len(keys)} architectures (x100){note}",
        ["proxy", "n", "Kendall", "Spearman", "Pearson"],
        rows,
    )

    unavailable = {n: {k: r for k, r in v.items() if r.startswith(NA_PREFIX)} for n, v in failed.items()}
    unavailable = {n: v for n, v in unavailable.items() if v}
    for name, per_arch in unavailable.items():
        typer.echo(
            f"note: {name} n/a on {len(per_arch)} architecture(s), left out of its correlation: "
            f"{next(iter(per_arch.values()))[len(NA_PREFIX) :]}",
            err=True,
        )
    if unavailable:
        typer.echo(f"partial result: some proxies failed on some architectures; exit code {PARTIAL_EXIT}", err=True)
        raise typer.Exit(PARTIAL_EXIT)


def sample(
    out_dir: Path = typer.Option(..., "--out-dir", help="Folder for the arch files (<prefix>-<i>.json)."),
    k: int = typer.Option(32, "--k", min=1, help="Architectures to sample."),
    sample_seed: int = typer.Option(0, "--sample-seed", help="Seed of the GMACs-stratified sample."),
    max_gmacs: float = typer.Option(27.8, "--max-gmacs", help="Budget: GMACs at 1024x2048, 19 classes."),
    pool_factor: int = typer.Option(
        8,
        "--pool-factor",
        min=1,
        help="Pool of K x this feasible archs to stratify; "
        "1 with --k 1: the first feasible random architecture (random baseline).",
    ),
    prefix: str = typer.Option("arch", "--prefix", help="File name prefix."),
) -> None:
    """Write K seeded, GMACs-stratified architectures under the budget as arch files."""
    from saswot.workflows.minibench import arch_costs, sample_archs

    archs = sample_archs(k, sample_seed, max_gmacs=max_gmacs, pool_factor=pool_factor)
    rows = []
    for i, a in enumerate(archs):
        path = save_arch(a, out_dir / (f"{prefix}.json" if k == 1 else f"{prefix}-{i:03d}.json"))
        c = arch_costs(a)
        rows.append([str(path), round(c["params_m"], 3), round(c["gmacs"], 2)])
    print_table(
        f"{k} architecture(s), sample seed {sample_seed}, <= {max_gmacs} GMACs", ["file", "params (M)", "GMACs"], rows
    )


def summary(
    bench: Path = typer.Option(..., "--bench", help="Benchmark file."),
    recipe_id: Optional[str] = typer.Option(None, "--recipe-id", help="Entries of this recipe (if the file mixes)."),
    search_dir: Optional[Path] = typer.Option(
        None, "--search-dir", help="Folder of <label>.json search outputs (adds their search wall time)."
    ),
    out: Optional[Path] = typer.Option(None, "--out", help="Result JSON."),
) -> None:
    """Per label (search method): mIoU mean and spread over seeds, params, GMACs, latency, search time."""
    from saswot.workflows.minibench import BenchFile, noise_summary, summarize_by_label

    rows = summarize_by_label(BenchFile(bench).entries(), recipe_id)
    noise = noise_summary(rows)
    for r in rows:
        r["search_wall_s"] = None
        f = search_dir / f"{r['label']}.json" if search_dir is not None else None
        if f is not None and f.is_file():
            r["search_wall_s"] = (read_json(f).get("search") or {}).get("wall_s")
    if out is not None:
        write_json(out, {"bench": str(bench), "rows": rows, "noise": noise})
    print_table(
        f"{bench}",
        ["label", "seeds", "mIoU mean", "spread", "params (M)", "GMACs", "latency (ms)", "search (s)"],
        [
            [
                r["label"],
                len(r["seeds"]),
                round(r["miou_mean"], 4),
                round(r["miou_spread"], 4),
                round(r["params_m"], 3),
                round(r["gmacs"], 2),
                r["latency_ms"] if r["latency_ms"] is not None else "-",
                r["search_wall_s"] if r["search_wall_s"] is not None else "-",
            ]
            for r in rows
        ],
    )
    if noise is not None:
        typer.echo(
            f"seed spread (max-min per arch): mean {noise['seed_spread_mean']:.4f}, max "
            f"{noise['seed_spread_max']:.4f}; across {noise['archs']} archs: range of means "
            f"{noise['arch_range']:.4f}; sd within {noise['seed_sd']:.4f} vs between {noise['arch_sd']:.4f}; "
            f"share of variance due to the architecture {noise['between_fraction']:.2f}"
        )


def _all_proxies() -> list[str]:

    from saswot.proxies import REGISTRY

    return REGISTRY.names()


app.command(name="run")(run)
app.command(name="status")(status)
app.command(name="rank")(rank)
app.command(name="sample")(sample)
app.command(name="summary")(summary)


def register(root: typer.Typer) -> None:
    """Add the ``minibench`` command group."""
    root.add_typer(app, name="minibench")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
