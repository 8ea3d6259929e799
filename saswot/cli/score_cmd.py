"""CLI: ``saswot score``: score any ``nn.Module`` factory with zero-cost proxies."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import typer

from saswot.cli._options import build_config, proxies_help
from saswot.cli.arch_cmd import parse_resolution
from saswot.config import ProxyBatch
from saswot.errors import PARTIAL_EXIT, SaswotError
from saswot.utils.io import write_json
from saswot.utils.tables import print_table

#: Units of the proxies that are costs (the others are unitless scores).
UNITS = {"flops": "MMACs, batch 1", "params": "M params"}


def parse_kwargs(text: str) -> dict[str, Any]:
    """The factory keywords of ``--kwargs``: a JSON object with string keys.

    Raises:
        SaswotError: not valid JSON, or not an object.
    """
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SaswotError(f"--kwargs is not valid JSON ({exc}); e.g. --kwargs '{{\"num_classes\": 19}}'") from None
    if not isinstance(value, dict):
        raise SaswotError("--kwargs must be a JSON object, e.g. '{\"num_classes\": 19}'")
    return value


def score_cmd(
    model: str = typer.Argument(..., help="pkg.module:function or path/to/file.py:function returning an nn.Module."),
    proxies: str = typer.Option(
        "nwot,snip,synflow,grad_norm,flops,params",
        "--proxies",
        help=proxies_help("; AVT proxies such as saswot need --avt"),
    ),
    kwargs: Optional[str] = typer.Option(None, "--kwargs", help="JSON object of keyword arguments for the factory."),
    input_size: str = typer.Option("128x128", "--input-size", help="HxW of the proxy batch."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Images in the proxy batch."),
    num_classes: Optional[int] = typer.Option(
        None, "--num-classes", help="Output classes (default: read from the model's output channels)."
    ),
    data: str = typer.Option("random", "--data", help="Proxy batch: random (no data needed) or camvid."),
    data_root: Optional[str] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
    avt: Optional[Path] = typer.Option(None, "--avt", help="AVT min/max JSON (from avt-calibrate) for saswot."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    seed: int = typer.Option(0, "--seed", help="Seed of the batch and of the proxies' random draws."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the scores as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score your own nn.Module (a factory given as pkg.module:function) with zero-cost proxies."""
    import torch

    from saswot.datasets.proxy_batch import make_batch
    from saswot.proxies import ScoringSettings, resolve_proxies, score_network_detailed
    from saswot.proxies._avt import AVTStats
    from saswot.proxies._stats import main_output
    from saswot.runtime.device import check_device
    from saswot.utils.counting import count_model
    from saswot.utils.modelref import load_model

    # Everything the user typed is checked before the model is built or any pass runs.
    specs = resolve_proxies(proxies)
    factory_kwargs = parse_kwargs(kwargs) if kwargs else {}
    hw = parse_resolution(input_size, "--input-size")
    if data not in ("random", "camvid"):
        raise SaswotError(f"--data must be random or camvid (got '{data}')")
    check_device(device)
    avt_stats = AVTStats.read(avt) if avt is not None else None
    needs_avt = [s.name for s in specs if s.needs_avt]
    notes: list[str] = []
    named = {p.strip() for p in proxies.split(",")}
    if needs_avt and avt_stats is None and "all" in named and not set(needs_avt) & named:
        # 'all' without AVT ranges: score every proxy that needs none, and say which were left out
        specs = [s for s in specs if not s.needs_avt]
        notes.append(
            f"{', '.join(needs_avt)} left out: it needs the AVT min/max of a search space; give --avt FILE "
            "(written by `saswot avt-calibrate`) to include it"
        )
        needs_avt = []
    if needs_avt and avt_stats is None:
        raise SaswotError(
            f"{', '.join(needs_avt)} need(s) AVT min/max of the search space: give --avt FILE "
            "(written by `saswot avt-calibrate`), or leave them out of --proxies"
        )

    net = load_model(model, factory_kwargs)
    t0 = time.perf_counter()
    probe_images, _ = make_batch("random", min(batch_size, 2), hw, 2, seed)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            logits = main_output(net(probe_images))
    except Exception as exc:  # the user's forward failed on the probe batch: say so in one line
        raise SaswotError(
            f"the model's forward failed on a {tuple(probe_images.shape)} input: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        net.train(was_training)
    if logits.dim() != 4:
        raise SaswotError(
            f"the model returned a {logits.dim()}-D output {tuple(logits.shape)}; a segmentation "
            "network returns N x C x H x W logits (a dict with 'out' or a tuple is fine)"
        )
    classes = num_classes or int(logits.shape[1])
    images, labels = make_batch(data, batch_size, hw, classes, seed, data_root)
    batch = build_config(ProxyBatch, locals(), resolution=hw, num_classes=classes)
    settings = ScoringSettings(batch, avt=avt_stats)
    report = score_network_detailed(net, images, labels, specs, settings)
    unavailable = report.unavailable
    counts = count_model(net, (1, 3, *hw))
    wall = time.perf_counter() - t0
    payload = {
        "model": model,
        "kwargs": factory_kwargs,
        "input_size": list(hw),
        "batch_size": batch_size,
        "data": data,
        "num_classes": classes,
        "seed": seed,
        "device": device,
        "params_m": counts.params / 1e6,
        "gmacs": counts.flops / 1e9,
        # a proxy that raised an error on this network has no score (null), its reason is in "failed"
        "scores": {k: (None if k in unavailable else v) for k, v in report.scores.items()},
        "failed": report.failed,
        "partial": bool(unavailable),
        "notes": notes,
        "wall_s": round(wall, 3),
    }
    if out is not None:
        write_json(out, payload)
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        rows = [
            [name, "n/a" if name in unavailable else value, UNITS.get(name, ""), report.failed.get(name, "")]
            for name, value in report.scores.items()
        ]
        title = f"{model} @ {hw[0]}x{hw[1]}, batch {batch_size} ({data}), {classes} classes"
        print_table(title, ["proxy", "score", "unit", "note"], rows)
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        if out is not None:
            typer.echo(f"wrote {out}")
    if unavailable:
        typer.echo(
            f"partial result: {len(unavailable)} of {len(report.scores)} proxies failed on this network "
            f"(n/a, reasons above{' and in ' + str(out) if out is not None else ''}); exit code {PARTIAL_EXIT}",
            err=True,
        )
        raise typer.Exit(PARTIAL_EXIT)


def register(app: typer.Typer) -> None:
    """Add ``score``."""
    app.command(name="score")(score_cmd)
