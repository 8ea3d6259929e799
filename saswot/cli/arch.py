"""CLI: ``saswot arch-info`` (cost of a FasterSeg arch) and ``saswot search-arch`` (training-free search)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import torch
import typer

from saswot.cli._options import parse_resolution as parse_arg
from saswot.cli._options import ray_option, workers_option
from saswot.errors import SaswotError


def parse_resolution(text: str, option: str = "--resolution") -> tuple[int, int]:
    """Parse a FasterSeg-space resolution (``HxW``, each side at least 32)."""
    return parse_arg(text, option, minimum=32)


def arch_info(
    arch: str = typer.Argument(..., help="Arch JSON file (e.g. from search-arch) or built-in name 'fasterseg'."),
    resolution: str = typer.Option("1024x2048", "--resolution", help="Input HxW for MACs and latency."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda (latency only)."),
    latency: bool = typer.Option(
        False,
        "--latency",
        help="Also estimate latency from the lookup table "
        "(measuring missing entries; cached) and time the whole network end to end.",
    ),
    num_classes: int = typer.Option(19, "--num-classes", help="Output classes."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Parameters, GMACs and (with --latency) latency of a FasterSeg architecture."""
    from saswot.device import check_device
    from saswot.fasterseg import build_network, load_arch
    from saswot.fasterseg.cost import arch_cost
    from saswot.fasterseg.latency import LatencyTable, measure_latency

    res = parse_resolution(resolution)
    a = load_arch(arch)
    cost = arch_cost(a, res, num_classes)
    out: dict[str, Any] = {
        "arch": arch,
        "resolution": list(res),
        "params_m": round(cost.params_m, 4),
        "gmacs": round(cost.gmacs, 3),
        "latency_ms": None,
        "cells": [len(b.ops) for b in a.branches],
        "shared_cells": a.shared_prefix(),
    }
    if latency:
        from saswot.progress import make_progress

        check_device(device)
        lut = LatencyTable(device)
        with make_progress(disable=quiet) as progress:
            task = progress.add_task("latency table", total=None, status="")
            est = lut.estimate(
                a, res, num_classes, on_component=lambda done, total: progress.update(task, completed=done, total=total)
            )
            timing = progress.add_task("end-to-end timing", total=1, status="")
            measured = measure_latency(build_network(a, num_classes, seed=0), res, device)
            progress.update(timing, completed=1)
        out["latency_ms"] = round(est.total_ms, 3)
        out["latency_breakdown_ms"] = {
            "stem": round(est.stem_ms, 3),
            "cells": round(est.cells_ms, 3),
            "head": round(est.head_ms, 3),
        }
        out["latency_measured_ms"] = round(measured, 3)
        out["device"] = lut.tag
        out["lut"] = str(lut.path)
    if as_json:
        typer.echo(json.dumps(out))
        return
    from saswot.tables import print_table

    rows = [
        ["params (M)", out["params_m"]],
        ["GMACs", out["gmacs"]],
        ["cells per branch", str(out["cells"])],
        ["shared cells", out["shared_cells"]],
        ["latency LUT (ms)", "-" if out["latency_ms"] is None else out["latency_ms"]],
    ]
    if latency:
        rows.append(["latency measured (ms)", out["latency_measured_ms"]])
    print_table(f"{arch} @ {res[0]}x{res[1]}", ["quantity", "value"], rows)


def _sibling(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + suffix)


def search_arch(
    proxy: str = typer.Option(..., "--proxy", help="Proxy name (saswot, nwot, synflow, ...) or proxy JSON file."),
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
    widths: str = typer.Option(
        "fasterseg", "--widths", help="Width policy: fasterseg (fixed, default), uniform4..uniform12, or search."
    ),
    min_shared: int = typer.Option(0, "--min-shared", help="Minimum cells shared by the two branches."),
    avt_samples: int = typer.Option(20, "--avt-samples", help="Random architectures for AVT calibration."),
    out: Path = typer.Option(..., "--out", help="Output arch JSON (checkpoint, curve beside it)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    workers: int = workers_option(),
    ray: Optional[str] = ray_option(),
) -> None:
    """Training-free search of a FasterSeg-space segmenter under a latency or MACs budget."""
    import contextlib

    import numpy as np

    from saswot.device import check_device
    from saswot.fasterseg.decode import SpaceConfig
    from saswot.fasterseg.latency import LatencyTable
    from saswot.fasterseg.search import Budget, FasterSegProblem, ProxyScorer, calibrate_avt_for_space
    from saswot.io import write_json
    from saswot.parallel import make_executor
    from saswot.plots import plot_search_curves
    from saswot.progress import make_progress, stderr_console
    from saswot.proxies.avt import AVTStats
    from saswot.proxydata import camvid_available, make_batch
    from saswot.search import EvolutionConfig, evolve, random_search
    from saswot.tables import print_table

    t_start = time.perf_counter()
    check_device(device)
    target = parse_resolution(target_resolution, "--target-resolution")
    proxy_res = parse_resolution(proxy_resolution, "--proxy-resolution")
    if batch_size * (proxy_res[0] // 64) * (proxy_res[1] // 64) < 2:
        raise SaswotError(
            f"--proxy-resolution {proxy_res[0]}x{proxy_res[1]} with --batch-size {batch_size} is too small: zoomed "
            "cells at 1/32 work at 1/64 and BatchNorm needs more than one value per channel; use at least 64x128 "
            "(or 64x64 with --batch-size 2)"
        )
    if max_latency_ms is not None and max_gmacs is not None:
        raise SaswotError("give either --max-latency-ms or --max-gmacs, not both")
    if data not in ("camvid", "random"):
        raise SaswotError(f"--data must be camvid or random (got '{data}')")
    source = data
    if data == "camvid" and not camvid_available(data_root):
        stderr_console.print(
            "[yellow]note[/]: CamVid not found; using a random-input proxy batch "
            "(set --data-root or SASWOT_DATA to use real images)"
        )
        source = "random"
    space = SpaceConfig(widths=widths, min_shared=min_shared)
    config = EvolutionConfig(iterations=generations, population=population, topk=topk)
    images, labels = make_batch(source, batch_size, proxy_res, num_classes, seed, data_root)
    scorer = ProxyScorer(proxy, images, labels, num_classes=num_classes, seed=seed, device=device)
    lut = LatencyTable(device) if max_latency_ms is not None else None
    budget = Budget(max_latency_ms=max_latency_ms, max_gmacs=max_gmacs, target_resolution=target)
    problem = FasterSegProblem(space, scorer, budget, lut, num_classes)
    # an unreachable budget is rejected now, with the cheapest cost of the space, not after minutes of sampling
    from saswot.fasterseg.feasibility import check_budget

    check_budget(problem, seed, on_note=lambda note: stderr_console.print(f"[yellow]note[/]: {note}"))
    out = Path(out)
    ckpt, avt_path = _sibling(out, ".ckpt.json"), _sibling(out, ".avt.json")
    meta = {
        "space": {k: v for k, v in asdict(space).items() if not k.startswith("_")},
        "proxy": scorer.spec.cache_key,
        "seed": seed,
        "proxy_resolution": list(proxy_res),
        "batch_size": batch_size,
        "data": source,
        "num_classes": num_classes,
        "budget": {
            "max_latency_ms": max_latency_ms,
            "max_gmacs": max_gmacs,
            "target": list(target),
            "device": lut.tag if lut else None,
        },
    }
    meta = json.loads(json.dumps(meta))  # tuples -> lists, as read back from a checkpoint

    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(make_executor(workers, ray))
        problem.executor = None if executor.kind == "serial" else executor
        progress = stack.enter_context(make_progress(disable=quiet))
        if scorer.spec.needs_avt:
            if resume and avt_path.exists():
                scorer.avt = AVTStats.read(avt_path)
            else:
                task = progress.add_task("AVT calibration", total=avt_samples, status="")
                scorer.avt = calibrate_avt_for_space(
                    problem,
                    scorer,
                    avt_samples,
                    seed,
                    on_step=lambda: progress.advance(task),
                    executor=problem.executor,
                )
                scorer.avt.write(avt_path)
            meta["avt"] = scorer.avt.fingerprint()
        max_evals = population + generations * (config.mutations + config.crossovers)
        task = progress.add_task("evolution", total=max_evals, status="")

        def on_iter(rec: Any) -> None:
            progress.update(
                task,
                completed=min(rec.evaluations, max_evals),
                status=f"it {rec.iteration} best {rec.best_fitness:.4g}",
            )

        result = evolve(
            problem,
            config,
            np.random.default_rng(seed),
            checkpoint=ckpt,
            resume=resume,
            meta=meta,
            on_iteration=on_iter,
            on_evaluate=lambda n: progress.update(task, completed=min(n, max_evals)),
        )
        # duplicates and rejected candidates are not evaluated, so the bar ends at the evaluations made
        progress.update(task, total=result.evaluations, completed=result.evaluations)
        rand_result = None
        if random:
            rtask = progress.add_task("random search", total=result.evaluations, status="")
            rand_result = random_search(
                problem,
                result.evaluations,
                np.random.default_rng([seed, 1]),
                on_evaluate=lambda n: progress.update(rtask, completed=n),
            )

    def summary(res: Any, how: str) -> tuple[Any, dict[str, Any]]:
        arch = problem.decode(res.best)
        c = problem.cost(arch)
        lat = problem.latency(arch) if lut is not None else None
        return arch, {
            "method": how,
            "proxy": scorer.name,
            "score": res.best_fitness,
            "params_m": c["params_m"],
            "gmacs": c["gmacs"],
            "latency_ms": lat,
            "latency_device": lut.tag if lut else None,
            "evaluations": res.evaluations,
            "rejected": res.rejected,
            "history": res.history_json(),
            "genome": res.best.to_json(),
            "top": [{"key": problem.key(g), "score": v} for g, v in res.top],
        }

    best_arch, info = summary(result, "evolution")
    info["config"] = {
        **meta,
        "evolution": asdict(config),
        "avt_samples": avt_samples if scorer.spec.needs_avt else None,
    }
    if scorer.avt is not None:
        info["avt"] = scorer.avt.to_json()
    curves = [("evolution", info["history"])]
    rows = [
        [
            "evolution",
            info["score"],
            info["params_m"],
            info["gmacs"],
            "-" if info["latency_ms"] is None else info["latency_ms"],
            info["evaluations"],
        ]
    ]
    if rand_result is not None:
        r_arch, r_info = summary(rand_result, "random")
        r_info["config"] = info["config"]
        write_json(_sibling(out, ".random.json"), {**r_arch.to_json(), "name": f"{out.stem}-random", "search": r_info})
        info["random"] = {k: r_info[k] for k in ("score", "params_m", "gmacs", "latency_ms", "evaluations")}
        info["random"]["arch_file"] = str(_sibling(out, ".random.json"))
        curves.append(("random", r_info["history"]))
        rows.append(
            [
                "random",
                r_info["score"],
                r_info["params_m"],
                r_info["gmacs"],
                "-" if r_info["latency_ms"] is None else r_info["latency_ms"],
                r_info["evaluations"],
            ]
        )
    info["wall_s"] = round(time.perf_counter() - t_start, 1)
    info["torch_threads"] = torch.get_num_threads()
    info["executor"] = executor.describe()
    times = problem.eval_seconds
    info["timing"] = {
        "networks_scored": len(times),
        "mean_per_network_s": sum(times) / len(times) if times else None,
        "per_network_s": [round(t, 4) for t in times],
    }
    info["worker_failures"] = dict(problem.failures)
    curve = plot_search_curves(
        curves,
        _sibling(out, ".curve.png"),
        title=f"search with {scorer.name}",
        xlabel="evaluated architectures",
        ylabel="best proxy score",
    )
    info["curve"] = str(curve)
    write_json(out, {**best_arch.to_json(), "name": out.stem, "search": info})
    print_table(
        f"search-arch ({scorer.name}) -> {out}",
        ["method", "score", "params (M)", "GMACs", "latency (ms)", "evaluations"],
        rows,
    )


def register(app: typer.Typer) -> None:
    """Add ``arch-info`` and ``search-arch``."""
    app.command(name="arch-info")(arch_info)
    app.command(name="search-arch")(search_arch)
