"""CLI: ``saswot arch-info`` (cost of an architecture) and ``saswot search-arch`` (training-free segmenter search)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from saswot.cli._options import as_cli_error, build_config, option_name, ray_option, space_option, workers_option
from saswot.cli._options import parse_resolution as parse_arg
from saswot.cli.search_proxy_cmd import no_checkpoint_message
from saswot.config import ArchSearchConfig, ProxyBatch
from saswot.errors import PARTIAL_EXIT, ParameterError, SaswotError, UnknownNameError, render_params
from saswot.runtime.progress import make_progress, stderr_console
from saswot.spaces import LATENCY, REGISTRY, SEGMENTER_SEARCH
from saswot.spaces.base import LatencyReporter
from saswot.utils.io import checkpoint_path, sibling
from saswot.utils.tables import print_table


def parse_resolution(text: str, option: str = "--resolution") -> tuple[int, int]:
    """Parse a network resolution (``HxW``, each side at least 32: five downsamplings)."""
    return parse_arg(text, option, minimum=32)


def arch_info(
    arch: str = typer.Argument(
        ..., help="Architecture in any form the space reads (FasterSeg: arch JSON file or built-in name 'fasterseg')."
    ),
    space: Optional[str] = space_option("(default: the one space with segmenter-search)", required=False),
    resolution: str = typer.Option("1024x2048", "--resolution", help="Input HxW for MACs and latency."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda (latency only)."),
    latency: bool = typer.Option(
        False,
        "--latency",
        help="Also estimate latency from the lookup table "
        "(measuring missing entries; cached) and time the whole network end to end.",
    ),
    num_classes: Optional[int] = typer.Option(None, "--num-classes", help="Output classes (default: the space's)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Parameters, GMACs and (with --latency) latency of an architecture of a search space."""
    from saswot.runtime.device import check_device

    sp = REGISTRY.get(space) if space else REGISTRY.default(SEGMENTER_SEARCH)
    if latency and LATENCY not in sp.capabilities:
        raise SaswotError(f"space '{sp.name}' has no latency table; leave out --latency")
    res = parse_resolution(resolution)
    classes = num_classes or sp.num_classes
    a = sp.parse(arch)  # a missing or broken arch file is reported before torch is imported

    cost = sp.cost(a, res, classes)
    out: dict[str, Any] = {
        "arch": arch,
        "space": sp.name,
        "resolution": list(res),
        "params_m": round(cost.params_m, 4),
        "gmacs": round(cost.gmacs, 3),
        "latency_ms": None,
        **(sp.details(a) if hasattr(sp, "details") else {}),
    }
    if latency:
        check_device(device)
        if not isinstance(sp, LatencyReporter):
            raise UnknownNameError(f"space '{sp.name}' has no latency estimate")
        with make_progress(disable=quiet) as progress:
            task = progress.add_task("latency table", total=None, status="")
            out.update(
                sp.latency_report(
                    a,
                    res,
                    classes,
                    device,
                    on_component=lambda done, total: progress.update(task, completed=done, total=total),
                )
            )
    if as_json:
        typer.echo(json.dumps(out))
        return

    rows = [["params (M)", out["params_m"]], ["GMACs", out["gmacs"]]]
    rows += [[k.replace("_", " "), str(v)] for k, v in (sp.details(a) if hasattr(sp, "details") else {}).items()]
    rows.append(["latency LUT (ms)", "-" if out["latency_ms"] is None else out["latency_ms"]])
    if latency:
        rows.append(["latency measured (ms)", out["latency_measured_ms"]])
    print_table(f"{arch} @ {res[0]}x{res[1]}", ["quantity", "value"], rows)


def search_arch(
    proxy: Optional[str] = typer.Option(
        None,
        "--proxy",
        help="The objective: a proxy name (saswot, nwot, synflow, ...), proxy JSON file, ensemble (ensemble:A,B or "
        "ensemble-avt:A,B; without @CALIBRATION it is calibrated on --avt-samples architectures of the space), "
        "or a fitted predictor (predictor:camvid, shipped for fasterseg, or predictor:FILE from `saswot predictor fit`). "
        "Default: the space's calibrated objective (fasterseg: predictor:camvid; --proxy saswot reproduces the paper).",
    ),
    space: Optional[str] = space_option("segmenter-search (default: the one space that has it)", required=False),
    generations: int = typer.Option(20, "--generations", help="Evolution iterations after the initial pool."),
    population: int = typer.Option(20, "--population", help="Pool size P."),
    topk: int = typer.Option(5, "--topk", help="Parents kept and bred per iteration."),
    max_latency_ms: Optional[float] = typer.Option(None, "--max-latency-ms", help="Latency budget (LUT, ms)."),
    max_gmacs: Optional[float] = typer.Option(None, "--max-gmacs", help="GMACs budget at the target resolution."),
    target_resolution: str = typer.Option("1024x2048", "--target-resolution", help="HxW for the budget."),
    proxy_resolution: str = typer.Option("256x512", "--proxy-resolution", help="HxW of the proxy batch."),
    batch_size: int = typer.Option(2, "--batch-size", help="Images in the proxy batch."),
    num_classes: int = typer.Option(19, "--num-classes", help="Output classes of the networks."),
    data: str = typer.Option(
        "camvid", "--data", help="Proxy batch: camvid (falls back to random if absent) or random."
    ),
    data_root: Optional[str] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    seed: int = typer.Option(0, "--seed", help="Seed of the search, the weights and the batch."),
    random: bool = typer.Option(
        False,
        "--random",
        help="Also run random search with the same number of "
        "evaluations (baseline; written to <out>.random.json and the curve).",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from the checkpoint beside --out."),
    widths: Optional[str] = typer.Option(
        None,
        "--widths",
        help="Width policy of the space (FasterSeg: fasterseg, the fixed widths, default; uniform4..uniform12; search).",
    ),
    min_shared: int = typer.Option(0, "--min-shared", help="Minimum cells shared by the two branches."),
    avt_samples: int = typer.Option(
        20, "--avt-samples", help="Random architectures for AVT calibration (and an ensemble's calibration)."
    ),
    out: Path = typer.Option(..., "--out", help="Output arch JSON (checkpoint, curve beside it)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    workers: int = workers_option(),
    ray: Optional[str] = ray_option(),
) -> None:
    """Training-free search of a segmenter under a latency or MACs budget."""
    from saswot.datasets.proxy_batch import proxy_sources
    from saswot.runtime.parallel import make_executor
    from saswot.search.segmenter import run_arch_search, summary_rows

    sp = REGISTRY.get(space, SEGMENTER_SEARCH) if space else REGISTRY.default(SEGMENTER_SEARCH)
    if proxy is None:
        proxy = getattr(sp, "default_objective", None)
        if proxy is None:
            raise as_cli_error(ParameterError(f"space '{sp.name}' has no default objective: give one with {{proxy}}"))
        stderr_console.print(
            f"[cyan]objective[/]: {escape(proxy)} (the default in {sp.name}; --proxy saswot reproduces the paper)",
            highlight=False,
        )
    batch = build_config(ProxyBatch, locals(), resolution=parse_resolution(proxy_resolution, "--proxy-resolution"))
    settings = build_config(
        ArchSearchConfig,
        locals(),
        target_resolution=parse_resolution(target_resolution, "--target-resolution"),
        batch=batch,
        space_options={"widths": widths, "min_shared": min_shared} if widths or min_shared else {},
    )
    try:
        settings.check(proxy_sources())  # before any worker starts
        if resume and not checkpoint_path(out).is_file():
            raise SaswotError(no_checkpoint_message(checkpoint_path(out), out))
        with make_executor(workers, ray) as executor:
            doc = run_arch_search(
                settings,
                out,
                space=sp,
                resume=resume,
                random_baseline=random,
                show_progress=not quiet,
                executor=executor,
                on_note=lambda text: stderr_console.print(
                    f"[yellow]note[/]: {escape(render_params(text, option_name))}", highlight=False
                ),
            )
    except ParameterError as exc:
        raise as_cli_error(exc, {"batch.resolution": "--proxy-resolution"}) from None
    print_table(
        f"search-arch ({doc['search']['proxy']}) -> {out}",
        ["method", "score", "params (M)", "GMACs", "latency (ms)", "evaluations"],
        summary_rows(doc),
    )
    for line in written_and_next(out):
        typer.echo(line)
    unavailable = doc["search"].get("unavailable") or {}
    if unavailable:
        first = next(iter(unavailable.values()))
        stderr_console.print(
            f"[yellow]note[/]: {escape(doc['search']['proxy'])} failed on {len(unavailable)} candidate network(s), "
            f"rejected as n/a ({escape(first)}); all listed in {escape(str(out))} under search.unavailable; "
            f"exit code {PARTIAL_EXIT} (partial)",
            highlight=False,
        )
        raise typer.Exit(PARTIAL_EXIT)


def written_and_next(out: Path) -> list[str]:
    """Lines naming every file a segmenter search wrote beside ``out``, then the next commands to run."""
    beside = [
        (out, "the architecture and its search record"),
        (checkpoint_path(out), "checkpoint (--resume continues or extends the search)"),
        (sibling(out, ".curve.png"), "search curve"),
        (sibling(out, ".random.json"), "random-search baseline"),
        (sibling(out, ".avt.json"), "AVT statistics of the proxy"),
        (sibling(out, ".ensemble.json"), "ensemble calibration"),
    ]
    lines = ["wrote:"] + [f"  {path}  ({what})" for path, what in beside if path.exists()]
    lines += [
        "next:",
        f"  saswot arch-info {out} --resolution 1024x2048 --latency   # cost and latency",
        f"  saswot train {out} --dataset camvid --epochs 80 --out runs/{out.stem}   # retrain it (needs CamVid)",
    ]
    return lines


def register(app: typer.Typer) -> None:
    """Add ``arch-info`` and ``search-arch``."""
    app.command(name="arch-info")(arch_info)
    app.command(name="search-arch")(search_arch)
