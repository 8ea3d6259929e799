"""Progress display for long-running commands (rich, written to stderr)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

#: Console for progress and status messages; stdout stays clean for tables / JSON.
stderr_console = Console(stderr=True)


def make_progress(disable: bool = False) -> Progress:
    """Return a rich Progress (bar, n/total, elapsed, ETA) on stderr."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=stderr_console,
        disable=disable,
        transient=False,
    )


def track(
    items: Iterable[T], description: str, total: int | None = None, disable: bool = False
) -> Iterator[T]:
    """Iterate over ``items`` showing a progress bar on stderr."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with make_progress(disable) as progress:
        task = progress.add_task(description, total=total, status="")
        for item in items:
            yield item
            progress.advance(task)
