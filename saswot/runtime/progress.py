"""Progress display for long-running commands (rich, written to stderr)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

T = TypeVar("T")

#: Console for progress and status messages; stdout stays clean for tables / JSON.
stderr_console = Console(stderr=True)


class _Progress(Progress):
    """rich Progress that, when stderr is not a terminal (logs, CI), also prints a plain line
    at every 10 % of a task and at least once a minute, so redirected runs show progress."""

    _LOG_EVERY_S = 60.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._plain = not self.console.is_terminal and not self.disable
        self._last_log: dict = {}

    def update(self, task_id, *args, **kwargs) -> None:  # type: ignore[override]
        super().update(task_id, *args, **kwargs)
        self._maybe_log(task_id)

    def advance(self, task_id, advance: float = 1) -> None:  # type: ignore[override]
        super().advance(task_id, advance)
        self._maybe_log(task_id)

    def _maybe_log(self, task_id) -> None:
        if not self._plain:
            return
        task = self._tasks.get(task_id)
        if task is None or task.total in (None, 0):
            return
        decile = int(10 * task.completed / task.total)
        now = time.monotonic()
        last_decile, last_t = self._last_log.get(task_id, (-1, now))
        if decile > last_decile or now - last_t >= self._LOG_EVERY_S:
            self._last_log[task_id] = (decile, now)
            elapsed = task.elapsed or 0.0
            status = task.fields.get("status", "")
            speed = task.speed
            rate = f", {speed:.3g}/s" if speed else ""
            eta = task.time_remaining
            left = f", ETA {eta:.0f} s" if eta is not None and task.completed < task.total else ""
            self.console.print(
                f"{task.description}: {task.completed:.0f}/{task.total:.0f} "
                f"({100 * task.completed / task.total:.0f} %){rate}, {elapsed:.0f} s elapsed{left} {status}",
                highlight=False,
            )


class RateColumn(ProgressColumn):
    """Items per second of a task (e.g. architectures scored per second, across all workers)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("-/s", style="progress.data.speed")
        return Text(f"{speed:.2f}/s" if speed >= 0.1 else f"{60 * speed:.2f}/min", style="progress.data.speed")


def make_progress(disable: bool = False) -> Progress:
    """Return a rich Progress (bar, n/total, rate, elapsed, ETA) on stderr.

    When stderr is not a terminal, a plain progress line is also printed every 10 % / minute.
    """
    return _Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=stderr_console,
        disable=disable,
        transient=False,
    )


def track(items: Iterable[T], description: str, total: int | None = None, disable: bool = False) -> Iterator[T]:
    """Iterate over ``items`` showing a progress bar on stderr."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with make_progress(disable) as progress:
        task = progress.add_task(description, total=total, status="")
        for item in items:
            yield item
            progress.advance(task)
