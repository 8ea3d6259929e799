"""Readable tables for the CLI (rich)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def render_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """Build a rich Table; numbers are right-aligned."""
    table = Table(title=title, show_lines=False)
    for i, col in enumerate(columns):
        table.add_column(str(col), justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*[_fmt(v) for v in row])
    return table


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], console: Console | None = None
) -> None:
    """Print a table to stdout (or ``console``)."""
    (console or Console()).print(render_table(title, columns, rows))


def table_to_markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render the same table as GitHub markdown (for docs/results.md)."""
    lines = ["| " + " | ".join(str(c) for c in columns) + " |"]
    lines.append("| " + " | ".join("---" for _ in columns) + " |")
    for row in rows:
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-2):
            return f"{value:.3e}"
        return f"{value:.2f}"
    return str(value)
