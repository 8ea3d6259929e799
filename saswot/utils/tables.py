"""Readable tables for the CLI (rich)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def render_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """Build a rich Table; numbers are right-aligned in one format per column.

    Long cells (paths, formulas) wrap onto more lines instead of being cut with an ellipsis. The
    title and the cells are plain text: square brackets in a formula or a path are shown as they
    are, never read as console markup.
    """
    table = Table(title=Text(title), show_lines=False)
    for i, col in enumerate(columns):
        table.add_column(str(col), justify="left" if i == 0 else "right", overflow="fold")
    formats = [column_format([row[i] for row in rows if i < len(row)]) for i in range(len(columns))]
    for row in rows:
        table.add_row(*[Text(_fmt(v, formats[i] if i < len(formats) else None)) for i, v in enumerate(row)])
    return table


def column_format(values: Sequence[Any]) -> str:
    """The format of a column's floats: fixed point with enough decimals (2 to 6) to show three
    significant digits of its smallest non-zero value, or scientific when that is not enough."""
    mags = [abs(v) for v in values if isinstance(v, float) and math.isfinite(v) and v != 0]
    if not mags:
        return ".2f"
    if max(mags) >= 1e6 or min(mags) < 1e-4:
        return ".3e"
    decimals = 2 - math.floor(math.log10(min(mags)))
    return f".{min(6, max(2, decimals))}f"


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], console: Console | None = None
) -> None:
    """Print a table to stdout (or ``console``)."""
    (console or Console()).print(render_table(title, columns, rows))


def table_to_markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render the same table as GitHub markdown (for docs/results.md)."""
    formats = [column_format([row[i] for row in rows if i < len(row)]) for i in range(len(columns))]
    lines = ["| " + " | ".join(str(c) for c in columns) + " |"]
    lines.append("| " + " | ".join("---" for _ in columns) + " |")
    for row in rows:
        lines.append(
            "| " + " | ".join(_fmt(v, formats[i] if i < len(formats) else None) for i, v in enumerate(row)) + " |"
        )
    return "\n".join(lines) + "\n"


def _fmt(value: Any, fmt: str | None = None) -> str:
    """A cell: floats in ``fmt`` (default: the value's own :func:`column_format`), anything else as text."""
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        return format(value, fmt or column_format([value]))
    return str(value)
