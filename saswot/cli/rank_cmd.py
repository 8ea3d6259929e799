"""``saswot rank`` (score a space's architectures with zero-cost proxies and correlate with ground
truth) and ``saswot avt-calibrate`` (pre-compute SasWOT's AVT min/max); the work is in :mod:`saswot.workflows.rank`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from saswot.cli._options import (
    bench_option,
    build_config,
    cache_option,
    data_option,
    data_root_option,
    device_option,
    option_name,
    proxies_help,
    quiet_option,
    ray_option,
    space_option,
    workers_option,
)
from saswot.cli._options import parse_resolution as parse_arg
from saswot.config import AVTConfig, ProxyBatch, RankConfig
from saswot.errors import NA_PREFIX, PARTIAL_EXIT, render_params
from saswot.runtime.progress import stderr_console
from saswot.utils.io import read_json, write_json, write_text
from saswot.utils.tables import print_table, table_to_markdown

#: Defaults chosen so that `rank --proxies all` over the 504 cell-space dev archs fits the time budget
#: on a 2-core CPU (see docs/results.md for the measurement).
DEFAULT_BATCH = 4
DEFAULT_RESOLUTION = 64


def parse_resolution(text: str) -> tuple[int, int]:
    """``"64"`` -> (64, 64); ``"64x128"`` -> (64, 128)."""
    return parse_arg(text, "--resolution")


def _warn(text: str) -> None:
    stderr_console.print(f"[yellow]warning:[/] {escape(render_params(text, option_name))}", highlight=False)


def rank(
    space: str = space_option("benchmark"),
    proxies: str = typer.Option(
        ...,
        "--proxies",
        help=proxies_help(
            "; ensembles aggregated over the ranked archs: ensemble:A,B,C, ensemble-avt:A,B, aznas (groups separated by ;)"
            "; fitted predictors: predictor:NAME (shipped) or predictor:FILE (`saswot predictor fit`)"
        ),
    ),
    out: Path = typer.Option(..., "--out", help="result JSON (a .md table is written beside it)"),
    bench: Optional[str] = bench_option(),
    task: Optional[str] = typer.Option(
        None,
        "--task",
        help="benchmark task whose ground truth is used (default: the benchmark's, e.g. segmentsemantic)",
    ),
    samples: int = typer.Option(10, "--samples", help="random samples for mean ± std"),
    sample_size: int = typer.Option(50, "--sample-size", help="architectures per sample"),
    seed: int = typer.Option(0, "--seed", help="seed of the batch, the init and the samples"),
    archs: str = typer.Option("all", "--archs", help="N (random sample) or all"),
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", help="images in the proxy batch"),
    resolution: str = typer.Option(str(DEFAULT_RESOLUTION), "--resolution", help="R or HxW"),
    data: str = data_option(),
    data_root: Optional[str] = data_root_option(),
    device: str = device_option(),
    cache: Optional[Path] = cache_option(),
    plots: Optional[Path] = typer.Option(None, "--plots", help="folder for one scatter plot per proxy"),
    avt_file: Optional[Path] = typer.Option(
        None, "--avt", help="AVT statistics JSON (default: packaged for the space)"
    ),
    quiet: bool = quiet_option(),
    workers: int = workers_option(),
    ray: Optional[str] = ray_option(),
) -> None:
    """Score a space's benchmark architectures with zero-cost proxies; Kendall/Spearman/Pearson vs ground truth."""
    from saswot.proxies import SENTINEL
    from saswot.runtime.parallel import DIED_TWICE, make_executor
    from saswot.utils.plots import proxy_scatter_plots
    from saswot.workflows.rank import run_rank, table_rows
    from saswot.workflows.score import is_partial

    batch = build_config(ProxyBatch, locals(), resolution=parse_resolution(resolution))
    req = build_config(RankConfig, locals(), batch=batch)
    with make_executor(workers, ray) as executor:
        outcome = run_rank(req, progress=not quiet, executor=executor, on_note=_warn)
    result, per_arch = outcome.result, outcome.per_arch
    write_json(out, result)
    columns, rows = table_rows(result)
    n = min(sample_size, len(per_arch))
    title = f"{result['space']} / {result['task']}: correlation x100, mean ± std over {samples} samples of {n} archs"
    notes = result.get("notes", [])
    footer = "".join(f"\n- {n}" for n in notes)
    write_text(Path(out).with_suffix(".md"), f"{title}\n\n" + table_to_markdown(columns, rows) + footer)
    print_table(title, columns, rows)
    for n in notes:
        typer.echo(f"note: {n}")
    died = sorted(k for k, rec in per_arch.items() if any(v.startswith(DIED_TWICE) for v in rec.failed.values()))
    if died:
        _warn(
            f"{len(died)} architecture(s) not scored, their worker died twice (killed or out of memory; scored "
            f"{SENTINEL:g}, not cached, a rerun retries them): {', '.join(died[:10])}"
        )
    for proxy, info in result["failures"].items():
        reasons = info.get("reasons", {})
        archs_na = [k for k in info["archs"] if k not in set(died) and reasons.get(k, "").startswith(NA_PREFIX)]
        archs_nan = [k for k in info["archs"] if k not in set(died) and k not in set(archs_na)]
        if archs_na:
            shown = ", ".join(archs_na[:10]) + (" ..." if len(archs_na) > 10 else "")
            _warn(
                f"{proxy}: n/a on {len(archs_na)} architecture(s) ({reasons[archs_na[0]][len(NA_PREFIX) :]}; "
                f"ranked last as {SENTINEL:g}, not cached, reasons in {out}): {shown}"
            )
        if archs_nan:
            shown = ", ".join(archs_nan[:10]) + (" ..." if len(archs_nan) > 10 else "")
            _warn(f"{proxy}: {len(archs_nan)} architecture(s) gave NaN/inf, scored {SENTINEL:g}: {shown}")
    if plots is not None:
        keys = list(per_arch)
        proxy_scatter_plots(
            {p: [per_arch[k].scores[p] for k in keys] for p in outcome.names},
            [outcome.truth[k] for k in keys],
            plots,
            kendall={p: result["correlation"][p]["kendall"]["mean"] for p in outcome.names},
            sentinel=SENTINEL,
            ylabel=f"{result['task']} val accuracy (%)",
        )
    if is_partial(per_arch):
        _warn(f"partial result: some proxies have no score on some architectures (see above); exit code {PARTIAL_EXIT}")
        raise typer.Exit(PARTIAL_EXIT)


def avt_calibrate(
    space: str = space_option("benchmark"),
    out: Path = typer.Option(..., "--out", help="AVT JSON to write (saswot/data/avt/<space>.json to ship it)"),
    n: int = typer.Option(50, "--n", help="size of the pre-sampled architecture set"),
    bench: Optional[str] = bench_option(),
    task: Optional[str] = typer.Option(
        None, "--task", help="benchmark task whose architectures are sampled (default: the benchmark's)"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of the batch and the init"),
    sample_seed: int = typer.Option(2024, "--sample-seed", help="seed of the architecture sample"),
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", help="images in the proxy batch"),
    resolution: str = typer.Option(str(DEFAULT_RESOLUTION), "--resolution", help="R or HxW of the proxy batch"),
    data: str = data_option(),
    data_root: Optional[str] = data_root_option(),
    device: str = device_option(),
    cache: Optional[Path] = cache_option(),
    proxies: str = typer.Option("saswot_minus,nwot", "--proxies", help="proxies whose min/max to record"),
    proxy_file: Optional[Path] = typer.Option(
        None,
        "--update-proxy-file",
        help="also re-calibrate the AVT ranges (its expression and nwot) stored in this proxy JSON",
    ),
    quiet: bool = quiet_option(),
    workers: int = workers_option(),
    ray: Optional[str] = ray_option(),
) -> None:
    """Pre-compute AVT min/max (SasWOT: saswot_minus and nwot) on a seeded architecture sample."""
    from saswot.runtime.parallel import make_executor
    from saswot.workflows.avt import run_avt_calibration

    batch = build_config(ProxyBatch, locals(), resolution=parse_resolution(resolution))
    req = build_config(AVTConfig, locals(), batch=batch)
    with make_executor(workers, ray) as executor:
        stats, file_ranges = run_avt_calibration(
            req, proxy_file=proxy_file, progress=not quiet, executor=executor, on_note=_warn
        )
    if proxy_file is not None and file_ranges is not None:
        doc = read_json(proxy_file, "proxy file")
        doc["avt"] = {
            **file_ranges.to_json(),
            "set": f"{n} architectures sampled with seed {sample_seed}, scored at the settings of `saswot rank`",
            "settings": stats.meta["settings"],
        }
        write_json(proxy_file, doc)
        print_table(
            f"AVT ranges written to {proxy_file}",
            ["term", "min", "max"],
            [[k, v[0], v[1]] for k, v in file_ranges.ranges.items()],
        )
    stats.write(out)
    print_table(
        f"AVT statistics ({stats.meta['space']}, {n} archs)",
        ["proxy", "min", "max"],
        [[k, v[0], v[1]] for k, v in stats.ranges.items()],
    )


def register(app: typer.Typer) -> None:
    """Add ``rank`` and ``avt-calibrate``."""
    app.command(name="rank")(rank)
    app.command(name="avt-calibrate")(avt_calibrate)


__all__ = ["avt_calibrate", "parse_resolution", "rank", "register"]
