"""``saswot bench``: inspect a space's ground-truth file; ``saswot spaces``: list the registered spaces."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Optional

import typer

from saswot.cli._options import space_option
from saswot.errors import InvalidArchError
from saswot.spaces import BENCHMARK, get_space, space_summary
from saswot.utils.tables import print_table

bench_app = typer.Typer(
    help="Inspect a space's ground-truth file (ground truth, recorded params/FLOPs/proxies).",
    no_args_is_help=True,
)


def _num(value: float | None) -> str:
    """Full-precision text of a recorded number ('-' when absent)."""
    return "-" if value is None else f"{value:.10g}"


def _arch_entry(bench: Any, key: str, task: str) -> dict[str, Any]:
    rec = bench.record(key, task)
    return {
        "arch_str": bench.search_space.describe(key),
        "params_m": bench.reference_score(key, "params", task),
        "mflops": bench.reference_score(key, "flops", task),
        "ground_truth": float(rec["val_accuracy"]),
    }


def info(
    space: str = space_option("benchmark"),
    bench: Optional[Path] = typer.Option(
        None, "--bench", help="Ground-truth JSON (default: the space's file under the data root)."
    ),
    task: Optional[str] = typer.Option(None, "--task", help="Benchmark task (default: the benchmark's)."),
    arch: Optional[str] = typer.Option(
        None, "--arch", help="One architecture, in any form the space reads (e.g. key '(1, 0, 0, 2, 1, 0)')."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (every architecture, or the --arch one) to stdout."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
) -> None:
    """Summarise a ground-truth file, or show one architecture's record."""

    # the space's own reader, not the rank workflow: reading a table must not import torch
    b: Any = get_space(space, BENCHMARK).benchmark(bench, None if data_root is None else str(data_root))
    sp = b.space
    task = task or b.default_task
    path = b.path
    if arch is not None:
        try:
            resolved = b.search_space.parse(arch)
        except InvalidArchError as exc:
            raise InvalidArchError(f"--arch {arch!r}: {exc.template}") from exc
        keys = [b.search_space.key(resolved)]
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
        print_table(f"{sp} / {task}", ["field", "value"], rows)
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
    print_table(f"benchmark file ({sp})", ["field", "value"], rows)


bench_app.command(name="info")(info)


def spaces(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the registered search spaces and what each can do."""

    rows = space_summary()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    print_table(
        "search spaces",
        ["name", "capabilities", "classes", "description"],
        [[r["name"], ", ".join(r["capabilities"]) or "-", r["num_classes"], r["description"]] for r in rows],
    )


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command group and ``spaces`` to ``app``."""
    app.add_typer(bench_app, name="bench")
    app.command(name="spaces")(spaces)
