"""The search-arch evolution bar: a total known in advance that never moves, reached only at the end."""

from __future__ import annotations

from typing import Any

import pytest
from rich.progress import Progress

import saswot.search.segmenter
from saswot.config import ArchSearchConfig, ProxyBatch
from saswot.search.segmenter import run_arch_search


class RecordingProgress(Progress):
    """A disabled rich Progress that records (total, completed) of every task after each change."""

    def __init__(self) -> None:
        super().__init__(disable=True)
        self.log: dict[str, list[tuple[float | None, float]]] = {}

    def _record(self, task_id: Any) -> None:
        task = self._tasks[task_id]
        self.log.setdefault(task.description, []).append((task.total, task.completed))

    def add_task(self, description: str, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        task_id = super().add_task(description, *args, **kwargs)
        self._record(task_id)
        return task_id

    def update(self, task_id: Any, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        super().update(task_id, *args, **kwargs)
        self._record(task_id)

    def advance(self, task_id: Any, advance: float = 1) -> None:  # noqa: D102
        super().advance(task_id, advance)
        self._record(task_id)


def test_the_evolution_bar_total_never_moves(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    bars: list[RecordingProgress] = []

    def make(disable: bool = False) -> RecordingProgress:
        bars.append(RecordingProgress())
        return bars[-1]

    monkeypatch.setattr(saswot.search.segmenter, "make_progress", make)
    monkeypatch.setenv("SASWOT_CACHE", str(tmp_path / "cache"))
    settings = ArchSearchConfig(
        proxy="params", max_gmacs=30.0, generations=4, population=3, topk=2,
        batch=ProxyBatch(resolution=(64, 128), batch_size=1, data="random", seed=1, num_classes=19),
    )
    doc = run_arch_search(settings, tmp_path / "arch.json")
    log = [entry for bar in bars for entry in bar.log.get("evolution", [])]
    assert log, "no evolution bar"
    totals = {total for total, _ in log}
    assert totals == {5.0}, totals  # the initial population and 4 generations
    completed = [c for _, c in log]
    assert completed == sorted(completed) and completed[-1] == 5.0
    assert doc["search"]["evaluations"] > 0
