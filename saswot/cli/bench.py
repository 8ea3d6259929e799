"""``saswot bench``: inspect TransNAS-Bench-101 benchmark files (NAS-Bench-Suite-Zero tables)."""

from __future__ import annotations

import json
import statistics
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from saswot.benchmark import DEFAULT_TASK, TNBBenchmark
from saswot.errors import InvalidArchError
from saswot.tables import print_table
from saswot.tnb101.encoding import parse_arch

bench_app = typer.Typer(
    help="Inspect TransNAS-Bench-101 benchmark files (ground truth, recorded params/FLOPs/proxies).",
    no_args_is_help=True,
)


class Space(str, Enum):
    """TransNAS-Bench-101 search spaces."""

    micro = "micro"
    macro = "macro"


def _num(value: float | None) -> str:
    """Full-precision text of a recorded number ('-' when absent)."""
    return "-" if value is None else f"{value:.10g}"


def _arch_entry(bench: TNBBenchmark, key: str, task: str) -> dict[str, Any]:
    rec = bench.record(key, task)
    arch = parse_arch(key, bench.space)
    return {
        "arch_str": arch.arch_str,
        "params_m": bench.reference_score(arch, "params", task),
        "mflops": bench.reference_score(arch, "flops", task),
        "ground_truth": float(rec["val_accuracy"]),
    }


def info(
    space: Space = typer.Option(..., "--space", help="Search space: micro (cell-level) or macro (module-level)."),
    bench: Optional[Path] = typer.Option(
        None, "--bench", help="Benchmark JSON (default: <data-root>/tnb101/zc_transbench101_<space>.json)."
    ),
    task: str = typer.Option(DEFAULT_TASK, "--task", help="Benchmark task."),
    arch: Optional[str] = typer.Option(
        None, "--arch", help="One architecture: key '(1, 0, 0, 2, 1, 0)' or string '64-41414-1_00_210'."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (every architecture, or the --arch one) to stdout."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
) -> None:
    """Summarise a benchmark file, or show one architecture's record."""
    sp = space.value
    path = bench if bench is not None else TNBBenchmark.default_path(sp, data_root)
    b = TNBBenchmark.load(path, sp)
    if arch is not None:
        try:
            resolved = parse_arch(arch, sp)
        except InvalidArchError as exc:
            raise InvalidArchError(f"--arch {arch!r}: {exc}") from exc
        keys = [resolved.key]
        b.record(resolved, task)  # raises UnknownNameError (exit 2) when absent
    else:
        keys = b.keys(task)

    if as_json:
        payload = {
            "space": sp,
            "task": task,
            "archs": {k: _arch_entry(b, k, task) for k in keys},
        }
        typer.echo(json.dumps(payload, indent=2))
        return

    if arch is not None:
        key = keys[0]
        entry = _arch_entry(b, key, task)
        rows: list[list[Any]] = [
            ["key", key],
            ["arch_str", entry["arch_str"]],
            ["ground truth (val_accuracy)", _num(entry["ground_truth"])],
            ["params (M)", _num(entry["params_m"])],
            ["FLOPs (M)", _num(entry["mflops"])],
        ]
        for proxy in b.proxies(task):
            if proxy in ("params", "flops"):
                continue
            rows.append([f"recorded {proxy}", _num(b.reference_score(key, proxy, task))])
        print_table(f"TransNAS-Bench-101 {sp} / {task}", ["field", "value"], rows)
        return

    gts = list(b.ground_truths(task).values())
    params = [v for v in (b.reference_score(k, "params", task) for k in keys) if v is not None]
    flops = [v for v in (b.reference_score(k, "flops", task) for k in keys) if v is not None]
    rows = [
        ["file", str(path)],
        ["space", sp],
        ["task", task],
        ["tasks in file", ", ".join(b.tasks)],
        ["architectures", len(keys)],
        ["ground truth min", f"{min(gts):.4f}"],
        ["ground truth max", f"{max(gts):.4f}"],
        ["ground truth mean", f"{statistics.fmean(gts):.4f}"],
    ]
    if params:
        rows.append(["params (M) min / max", f"{min(params):.6f} / {max(params):.6f}"])
    if flops:
        rows.append(["MFLOPs min / max", f"{min(flops):.6f} / {max(flops):.6f}"])
    rows.append(["recorded proxies", ", ".join(b.proxies(task))])
    print_table(f"TransNAS-Bench-101 benchmark file ({sp})", ["field", "value"], rows)


bench_app.command(name="info")(info)


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command group to ``app``."""
    app.add_typer(bench_app, name="bench")
