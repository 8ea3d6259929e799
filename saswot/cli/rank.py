"""``saswot rank`` (score TransNAS-Bench-101 architectures with zero-cost proxies and correlate
with ground truth) and ``saswot avt-calibrate`` (pre-compute SasWOT's AVT min/max)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from saswot.cli._options import parse_resolution as parse_arg
from saswot.cli._options import proxies_help, ray_option, workers_option
from saswot.device import check_device
from saswot.errors import InvalidArchError, ScoreError
from saswot.paths import cache_dir
from saswot.progress import stderr_console
from saswot.tables import print_table, table_to_markdown

#: Defaults chosen so that `rank --proxies all` over the 504 micro dev archs fits the time budget
#: on a 2-core CPU (see docs/results.md for the measurement).
DEFAULT_BATCH = 4
DEFAULT_RESOLUTION = 64


def parse_resolution(text: str) -> tuple[int, int]:
    """``"64"`` -> (64, 64); ``"64x128"`` -> (64, 128)."""
    return parse_arg(text, "--resolution")


def _resolve_data(data: str, data_root: Optional[str]) -> str:
    from saswot.proxydata import SOURCES, camvid_available

    if data not in SOURCES:
        raise InvalidArchError(f"unknown --data '{data}'; use one of: {', '.join(SOURCES)}")
    if data == "camvid" and not camvid_available(data_root):
        stderr_console.print(
            "[yellow]warning:[/] CamVid not found under the data root; falling back to --data random "
            "(Gaussian images, random labels). Put CamVid at <data-root>/camvid/ or set SASWOT_DATA.",
            highlight=False,
        )
        return "random"
    return data


def _load_bench(space: str, bench: Optional[str], data_root: Optional[str]) -> Any:
    from saswot.benchmark import TNBBenchmark

    if space not in ("micro", "macro"):
        raise InvalidArchError(f"unknown --space '{space}'; use micro or macro")
    path = Path(bench) if bench else TNBBenchmark.default_path(space, data_root)
    return TNBBenchmark.load(path, space)


def _select_archs(bm: Any, archs: str, task: str, seed: int) -> list[Any]:
    from saswot.seeding import make_rng

    if archs.strip().lower() == "all":
        selected = bm.archs(task)
    else:
        try:
            n = int(archs)
        except ValueError:
            raise InvalidArchError(f"bad --archs '{archs}': give a number or 'all'") from None
        if n < 1:
            raise InvalidArchError(f"--archs must be >= 1 (got {n}): the architecture list would be empty")
        selected = bm.sample(n, make_rng(seed), task)
    if not selected:
        raise InvalidArchError(f"no architectures to rank for task '{task}' in {bm.path}")
    return selected


def _warn_avt_mismatch(avt: Any, settings: Any) -> None:
    meta = dict(avt.meta.get("settings", {}))
    current = settings.to_json()
    diff = [
        k for k in ("batch_size", "resolution", "data", "seed", "num_classes") if k in meta and meta[k] != current[k]
    ]
    if diff:
        stderr_console.print(
            f"[yellow]warning:[/] AVT statistics were calibrated with different settings ({', '.join(diff)}: "
            f"{ {k: meta[k] for k in diff} }); saswot scores may fall outside [0, 2]. "
            "Recalibrate with `saswot avt-calibrate` for these settings.",
            highlight=False,
        )


def rank(
    space: str = typer.Option(..., "--space", help="micro or macro"),
    proxies: str = typer.Option(
        ...,
        "--proxies",
        help=proxies_help(
            "; ensembles aggregated over the ranked archs: ensemble:A,B,C, ensemble-avt:A,B, aznas (groups separated by ;)"
        ),
    ),
    out: Path = typer.Option(..., "--out", help="result JSON (a .md table is written beside it)"),
    bench: Optional[str] = typer.Option(None, "--bench", help="benchmark JSON (default <data-root>/tnb101/...)"),
    task: str = typer.Option("segmentsemantic", "--task", help="TransNAS-Bench-101 task whose ground truth is used"),
    samples: int = typer.Option(10, "--samples", help="random samples for mean ± std"),
    sample_size: int = typer.Option(50, "--sample-size", help="architectures per sample"),
    seed: int = typer.Option(0, "--seed", help="seed of the batch, the init and the samples"),
    archs: str = typer.Option("all", "--archs", help="N (random sample) or all"),
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", help="images in the proxy batch"),
    resolution: str = typer.Option(str(DEFAULT_RESOLUTION), "--resolution", help="R or HxW"),
    data: str = typer.Option("camvid", "--data", help="camvid or random"),
    data_root: Optional[str] = typer.Option(None, "--data-root", help="data root (else $SASWOT_DATA, else ./data)"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
    cache: Optional[Path] = typer.Option(
        None,
        "--cache",
        help="score cache folder (default: <cache root>/scores; the cache root is $SASWOT_CACHE, else ~/.cache/saswot)",
    ),
    plots: Optional[Path] = typer.Option(None, "--plots", help="folder for one scatter plot per proxy"),
    avt_file: Optional[Path] = typer.Option(
        None, "--avt", help="AVT statistics JSON (default: packaged for the space)"
    ),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    workers: int = workers_option(),
    ray: Optional[str] = ray_option(),
) -> None:
    """Score TransNAS-Bench-101 architectures with zero-cost proxies; Kendall/Spearman/Pearson vs ground truth."""
    import functools
    import time

    from saswot.ensemble import add_ensemble_scores, split_for_rank
    from saswot.io import write_json, write_text
    from saswot.parallel import DIED_TWICE, make_executor
    from saswot.plots import proxy_scatter_plots
    from saswot.proxies import SENTINEL, resolve_proxies
    from saswot.proxies.avt import AVTStats
    from saswot.rank import ScoreCache, ScoreSettings, rank_result, score_architectures, table_rows
    from saswot.tnb101.builder import build_network

    if samples < 1 or sample_size < 2:
        raise InvalidArchError("--samples must be >= 1 and --sample-size >= 2")
    if batch_size < 2:
        raise InvalidArchError("--batch-size must be >= 2 (NWOT, jacov and epe_nas compare images)")
    res = parse_resolution(resolution)
    device = check_device(device)
    to_score, ensembles = split_for_rank(proxies)  # ensembles: members are scored, then aggregated below
    specs = resolve_proxies(to_score)
    bm = _load_bench(space, bench, data_root)
    selected = _select_archs(bm, archs, task, seed)
    if sample_size >= len(selected):
        stderr_console.print(
            f"[yellow]warning[/]: --sample-size {sample_size} is not smaller than the {len(selected)} architectures "
            "ranked, so every sample holds the same architectures and each ± is 0.00; rank more architectures "
            "(--archs) or lower --sample-size",
            highlight=False,
        )
    truth = bm.ground_truths(task)
    source = _resolve_data(data, data_root)
    settings = ScoreSettings(space=space, batch_size=batch_size, resolution=res, data=source, seed=seed, device=device)
    avt = None
    if any(s.needs_avt for s in specs):
        avt = AVTStats.read(avt_file) if avt_file else AVTStats.load(space)
        _warn_avt_mismatch(avt, settings)
    store = ScoreCache(cache if cache is not None else cache_dir("scores"), settings)
    t0 = time.perf_counter()
    with make_executor(workers, ray) as executor:
        per_arch = score_architectures(
            selected,
            specs,
            settings,
            functools.partial(build_network, num_classes=settings.num_classes, seed=seed),
            avt=avt,
            cache=store,
            data_root=data_root,
            progress=not quiet,
            description=f"rank {space}",
            executor=executor,
        )
        executor_info = executor.describe()
    wall = time.perf_counter() - t0
    add_ensemble_scores(per_arch, ensembles)  # pool-level rank aggregation (ensembles, aznas)
    config = {
        **settings.to_json(),
        "task": task,
        "proxies": [s.name for s in specs],
        "samples": samples,
        "sample_size": sample_size,
        "archs": archs,
        "n_archs": len(per_arch),
        "bench": str(bm.path),
        "data_requested": data,
        "avt": avt.to_json() if avt is not None else None,
        "sentinel": SENTINEL,
    }
    names = [s.name for s in specs] + [e.name for e in ensembles]
    # discovered proxies are judged on the architectures not used to search or validate them
    chosen = {s.name: s.chosen_on[1] for s in specs if s.chosen_on is not None and s.chosen_on[0] == space}
    result = rank_result(
        per_arch,
        truth,
        names,
        space=space,
        task=task,
        config=config,
        samples=samples,
        sample_size=sample_size,
        seed=seed,
        exclude=chosen,
    )
    result["executor"] = executor_info
    result["timing"] = scoring_timing(per_arch, wall)
    write_json(out, result)
    columns, rows = table_rows(result)
    title = f"{space} / {task}: correlation x100, mean ± std over {samples} samples of {min(sample_size, len(per_arch))} archs"
    write_text(Path(out).with_suffix(".md"), f"{title}\n\n" + table_to_markdown(columns, rows))
    print_table(title, columns, rows)
    died = sorted(k for k, rec in per_arch.items() if any(v.startswith(DIED_TWICE) for v in rec.failed.values()))
    if died:
        stderr_console.print(
            f"[yellow]warning:[/] {len(died)} architecture(s) not scored, their worker died twice (killed or out of "
            f"memory; scored {SENTINEL:g}, not cached, a rerun retries them): {', '.join(died[:10])}",
            highlight=False,
        )
    for proxy, info in result["failures"].items():
        archs_nan = [k for k in info["archs"] if k not in set(died)]
        if not archs_nan:
            continue
        shown = ", ".join(archs_nan[:10]) + (" ..." if len(archs_nan) > 10 else "")
        stderr_console.print(
            f"[yellow]warning:[/] {proxy}: {len(archs_nan)} architecture(s) gave NaN/inf, scored {SENTINEL:g}: {shown}",
            highlight=False,
        )
    if plots is not None:
        keys = list(per_arch)
        kend = {p: result["correlation"][p]["kendall"]["mean"] for p in names}
        proxy_scatter_plots(
            {p: [per_arch[k].scores[p] for k in keys] for p in names},
            [truth[k] for k in keys],
            plots,
            kendall=kend,
            sentinel=SENTINEL,
            ylabel=f"{task} val accuracy (%)",
        )


def avt_calibrate(
    space: str = typer.Option(..., "--space", help="micro or macro"),
    out: Path = typer.Option(..., "--out", help="AVT JSON to write (saswot/data/avt/<space>.json to ship it)"),
    n: int = typer.Option(50, "--n", help="size of the pre-sampled architecture set"),
    bench: Optional[str] = typer.Option(None, "--bench", help="benchmark JSON (default <data-root>/tnb101/...)"),
    task: str = typer.Option("segmentsemantic", "--task", help="TransNAS-Bench-101 task whose ground truth is used"),
    seed: int = typer.Option(0, "--seed", help="seed of the batch and the init"),
    sample_seed: int = typer.Option(2024, "--sample-seed", help="seed of the architecture sample"),
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", help="images in the proxy batch"),
    resolution: str = typer.Option(str(DEFAULT_RESOLUTION), "--resolution", help="R or HxW of the proxy batch"),
    data: str = typer.Option("camvid", "--data", help="camvid or random"),
    data_root: Optional[str] = typer.Option(None, "--data-root", help="data root (else $SASWOT_DATA, else ./data)"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
    cache: Optional[Path] = typer.Option(
        None,
        "--cache",
        help="score cache folder (default: <cache root>/scores; the cache root is $SASWOT_CACHE, else ~/.cache/saswot)",
    ),
    proxies: str = typer.Option("saswot_minus,nwot", "--proxies", help="proxies whose min/max to record"),
    proxy_file: Optional[Path] = typer.Option(
        None,
        "--update-proxy-file",
        help="also re-calibrate the AVT ranges (its expression and nwot) stored in this proxy JSON",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    workers: int = workers_option(),
    ray: Optional[str] = ray_option(),
) -> None:
    """Pre-compute AVT min/max (SasWOT: saswot_minus and nwot) on a seeded architecture sample."""
    import functools
    import time

    from saswot.autoproxy import load_proxy_file
    from saswot.io import read_json, write_json
    from saswot.parallel import DIED_TWICE, make_executor
    from saswot.proxies import resolve_proxies
    from saswot.proxies.avt import calibrate_avt
    from saswot.rank import ScoreCache, ScoreSettings, score_architectures
    from saswot.seeding import make_rng
    from saswot.tnb101.builder import build_network

    if n < 2:
        raise InvalidArchError("--n must be >= 2")
    bm = _load_bench(space, bench, data_root)
    archs = bm.sample(n, make_rng(sample_seed), task)
    source = _resolve_data(data, data_root)
    settings = ScoreSettings(
        space=space,
        batch_size=batch_size,
        resolution=parse_resolution(resolution),
        data=source,
        seed=seed,
        device=check_device(device),
    )
    recorded = resolve_proxies(proxies)
    if any(s.needs_avt for s in recorded):
        raise InvalidArchError("--proxies: AVT ranges are taken of raw proxies, not of AVT-based ones (e.g. saswot)")
    specs = recorded
    expression = None
    if proxy_file is not None:
        expression = load_proxy_file(proxy_file, combine=None)
        specs = resolve_proxies([*recorded, expression, "nwot"])
    store = ScoreCache(cache if cache is not None else cache_dir("scores"), settings)
    t0 = time.perf_counter()
    with make_executor(workers, ray) as executor:
        per_arch = score_architectures(
            archs,
            specs,
            settings,
            functools.partial(build_network, num_classes=settings.num_classes, seed=seed),
            cache=store,
            data_root=data_root,
            progress=not quiet,
            description=f"avt {space}",
            executor=executor,
        )
        executor_info = executor.describe()
    wall = time.perf_counter() - t0
    died = sorted(
        k
        for k, rec in per_arch.items()
        if rec.seconds is None and rec.failed and any(v.startswith(DIED_TWICE) for v in rec.failed.values())
    )
    if died:
        raise ScoreError(
            f"cannot calibrate AVT: the worker scoring {len(died)} architecture(s) died twice "
            f"({', '.join(died[:5])}); rerun to score them again (finished ones are cached)"
        )
    lists = {s.name: [per_arch[a.key].scores[s.name] for a in archs] for s in specs}
    if expression is not None:
        extra = calibrate_avt({"expression": lists[expression.name], "nwot": lists["nwot"]})
        data = read_json(proxy_file, "proxy file")
        data["avt"] = {
            **extra.to_json(),
            "set": f"{n} architectures sampled with seed {sample_seed}, scored at the settings of `saswot rank`",
            "settings": settings.to_json(),
        }
        write_json(proxy_file, data)
        print_table(
            f"AVT ranges written to {proxy_file}",
            ["term", "min", "max"],
            [[k, v[0], v[1]] for k, v in extra.ranges.items()],
        )
    meta = {
        "space": space,
        "settings": settings.to_json(),
        "sample_seed": sample_seed,
        "archs": [a.key for a in archs],
        "command": f"saswot avt-calibrate --space {space} --n {n} --seed {seed} --sample-seed {sample_seed} "
        f"--batch-size {batch_size} --resolution {resolution} --data {source} --proxies {proxies}",
        "executor": executor_info,
        "timing": scoring_timing(per_arch, wall),
    }
    stats = calibrate_avt({s.name: lists[s.name] for s in recorded}, meta)
    stats.write(out)
    print_table(
        f"AVT statistics ({space}, {n} archs)",
        ["proxy", "min", "max"],
        [[k, v[0], v[1]] for k, v in stats.ranges.items()],
    )


def scoring_timing(per_arch: Any, wall_s: float) -> dict[str, Any]:
    """Timing block of a result file: wall time, per-network seconds (None: from the cache)."""
    per = {k: rec.seconds for k, rec in per_arch.items()}
    done = [v for v in per.values() if v is not None]
    return {
        "wall_s": round(wall_s, 3),
        "computed": len(done),
        "cached": len(per) - len(done),
        "mean_per_arch_s": (sum(done) / len(done)) if done else None,
        "per_arch_s": per,
    }


def register(app: typer.Typer) -> None:
    """Add ``rank`` and ``avt-calibrate``."""
    app.command(name="rank")(rank)
    app.command(name="avt-calibrate")(avt_calibrate)


__all__ = ["avt_calibrate", "parse_resolution", "rank", "register"]
