"""Ground truth from a JSON table ``{task: {arch_key: record}}``: the generic benchmark of a space.

A record holds ``val_accuracy`` (the ground truth; larger is better) and, optionally, reference
scores, each a number or ``{"score": number, ...}``. Keys are parsed by the space, so a table may
use any form the space reads and is indexed by canonical key. Files given to a project may hold a
subset of a benchmark: code must never assume a table covers the whole space.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from saswot.errors import CorruptDataError, InvalidArchError, SaswotError, UnknownNameError
from saswot.utils.io import read_json
from saswot.utils.paths import require_path

#: Record fields that are not proxy scores.
NON_PROXY_FIELDS = frozenset({"idx", "arch", "val_accuracy"})


class TableBenchmark:
    """Ground truth and reference scores of one space, indexed by canonical key.

    Attributes:
        search_space: the space whose ``parse``/``key`` read the table's keys.
        space: the space's name.
        path: the file it was loaded from (``None`` when built from a mapping).
        default_task: the task used when none is given.
    """

    #: Shown after a data error (how to get a good file).
    fix_hint = "Check the file or regenerate it."

    def __init__(
        self,
        search_space: Any,
        data: Mapping[str, Mapping[str, Mapping[str, Any]]],
        path: Path | None = None,
        default_task: str | None = None,
    ) -> None:
        """Validate ``data`` (``{task: {key: record}}``) and index it by canonical key.

        Raises:
            CorruptDataError: a task is not a mapping, a key does not parse in the space, or a
                record lacks a finite ``val_accuracy``.
        """
        self.search_space = search_space
        self.space: str = search_space.name
        self.path = path
        where = self._where()
        self._tasks: dict[str, dict[str, dict[str, Any]]] = {}
        self._archs: dict[str, Any] = {}
        if not isinstance(data, Mapping) or not data:
            raise CorruptDataError(
                f"{where} must be a JSON object {{task: {{arch_key: record}}}}; got {type(data).__name__}. "
                f"{self.fix_hint}"
            )
        for task, records in data.items():
            if not isinstance(records, Mapping):
                raise CorruptDataError(
                    f"{where}: task {task!r} must map arch keys to records, got {type(records).__name__}."
                )
            table: dict[str, dict[str, Any]] = {}
            for raw_key, record in records.items():
                try:
                    arch = search_space.parse(str(raw_key))
                except InvalidArchError as exc:
                    raise CorruptDataError(
                        f"{where}: task {task!r} has key {raw_key!r} that is not a valid {self.space} "
                        f"architecture ({exc}). Is this the {self.space} file?"
                    ) from exc
                if not isinstance(record, Mapping):
                    raise CorruptDataError(f"{where}: record {task}/{raw_key} is not a JSON object.")
                gt = record.get("val_accuracy")
                if isinstance(gt, bool) or not isinstance(gt, (int, float)) or not math.isfinite(gt):
                    raise CorruptDataError(
                        f"{where}: record {task}/{raw_key} has no finite numeric 'val_accuracy' "
                        f"(got {gt!r}). {self.fix_hint}"
                    )
                key = search_space.key(arch)
                if key in table:
                    raise CorruptDataError(f"{where}: task {task!r} lists architecture {key} twice.")
                table[key] = dict(record)
                self._archs.setdefault(key, arch)
            self._tasks[str(task)] = table
        self.default_task = default_task if default_task in self._tasks else next(iter(self._tasks))

    @classmethod
    def load(cls, path: str | Path, search_space: Any, default_task: str | None = None) -> TableBenchmark:
        """Read a JSON table for ``search_space``.

        Raises:
            DataNotFoundError: the file does not exist.
            CorruptDataError: bad JSON or bad content.
        """
        p = require_path(path, search_space.name, f"{search_space.name} benchmark file")
        data = read_json(p, f"{search_space.name} benchmark file", cls.fix_hint)
        return cls(search_space, data, p, default_task)

    def _where(self) -> str:
        return f"'{self.path}'" if self.path is not None else "the benchmark data"

    # ------------------------------------------------------------------ queries
    @property
    def tasks(self) -> list[str]:
        """Tasks present in the table."""
        return list(self._tasks)

    def _unknown_task(self, task: str) -> SaswotError:
        return UnknownNameError(f"unknown task {task!r}; {self._where()} has: {', '.join(self.tasks)}.")

    def _table(self, task: str | None) -> dict[str, dict[str, Any]]:
        task = self.default_task if task is None else task
        table = self._tasks.get(task)
        if table is None:
            raise self._unknown_task(task)
        return table

    def _resolve(self, arch_or_key: Any) -> Any:
        try:
            return self.search_space.parse(arch_or_key)
        except InvalidArchError as exc:
            raise InvalidArchError(f"{exc} (benchmark space: {self.space})") from exc

    def keys(self, task: str | None = None) -> list[str]:
        """Canonical keys of ``task``'s architectures, in file order."""
        return list(self._table(task))

    def archs(self, task: str | None = None) -> list[Any]:
        """Architectures of ``task``, in file order."""
        return [self._archs[k] for k in self._table(task)]

    def record(self, arch_or_key: Any, task: str | None = None) -> dict[str, Any]:
        """A copy of the raw record of an architecture.

        Raises:
            UnknownNameError: the architecture is not in the table for ``task``.
        """
        arch = self._resolve(arch_or_key)
        key = self.search_space.key(arch)
        table = self._table(task)
        rec = table.get(key)
        if rec is None:
            raise UnknownNameError(
                f"architecture {key} ({self.search_space.describe(arch)}) is not in {self._where()} for task "
                f"{task or self.default_task!r} ({len(table)} {self.space} architectures; the file may hold a subset "
                f"of the benchmark). List them with `saswot bench info --space {self.space} --json`."
            )
        return dict(rec)

    def ground_truth(self, arch_or_key: Any, task: str | None = None) -> float:
        """``val_accuracy`` of an architecture."""
        return float(self.record(arch_or_key, task)["val_accuracy"])

    def reference_score(self, arch_or_key: Any, proxy: str, task: str | None = None) -> float | None:
        """The recorded score of ``proxy`` (e.g. ``"nwot"``, ``"params"``), or ``None`` if not recorded."""
        entry = self.record(arch_or_key, task).get(proxy)
        if isinstance(entry, Mapping):
            entry = entry.get("score")
        if isinstance(entry, bool) or not isinstance(entry, (int, float)):
            return None
        return float(entry)

    def proxies(self, task: str | None = None) -> list[str]:
        """Names of the proxies recorded for ``task`` (from its first record)."""
        table = self._table(task)
        if not table:
            return []
        first = next(iter(table.values()))
        return [k for k in first if k not in NON_PROXY_FIELDS]

    def ground_truths(self, task: str | None = None) -> dict[str, float]:
        """``{key: val_accuracy}`` for every architecture of ``task``."""
        return {k: float(r["val_accuracy"]) for k, r in self._table(task).items()}

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        task: str | None = None,
        exclude: Iterable[Any] = (),
    ) -> list[Any]:
        """``n`` distinct architectures of ``task`` drawn uniformly without replacement.

        The same generator state gives the same sample.

        Raises:
            SaswotError: ``n`` is negative or larger than the number of candidates.
        """
        excluded = {self.search_space.key(self._resolve(e)) for e in exclude}
        candidates = [k for k in self._table(task) if k not in excluded]
        if n < 0 or n > len(candidates):
            raise SaswotError(
                f"cannot sample {n} architectures: {len(candidates)} {self.space} architectures are "
                f"available for task {task or self.default_task!r}; ask for at most {len(candidates)}."
            )
        idx = rng.choice(len(candidates), size=n, replace=False)
        return [self._archs[candidates[int(i)]] for i in idx]

    def _listed_task(self) -> str:
        """The default task if the table has it, else its first task (what ``len`` and ``in`` look at)."""
        return self.default_task if self.default_task in self._tasks else next(iter(self._tasks))

    def __len__(self) -> int:
        """Number of architectures of the default task."""
        return len(self._tasks[self._listed_task()])

    def __contains__(self, arch_or_key: object) -> bool:
        """Whether an architecture (or key/string) has a record for the default task."""
        try:
            arch = self.search_space.parse(arch_or_key)
        except (InvalidArchError, TypeError):
            return False
        return self.search_space.key(arch) in self._tasks[self._listed_task()]

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the default task's architectures (file order)."""
        return iter(self.archs(self._listed_task()))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(space={self.space!r}, archs={len(self)}, tasks={len(self._tasks)}, "
            f"path={self.path!r})"
        )
