"""Lookup of TransNAS-Bench-101 ground truth and reference proxy scores.

Reads NAS-Bench-Suite-Zero's ``zc_transbench101_{micro,macro}.json`` tables, laid out as
``{task: {arch_key: record}}`` where a record holds ``val_accuracy`` (ground truth) and one
``{"score", "time"}`` entry per recorded proxy (``params``, ``flops``, ``grasp``, ``fisher``,
``grad_norm``, ``l2_norm``, ``plain``, ``nwot``, ``epe_nas``, ``jacov``, ``snip``).

The files given to this project hold a development subset of the benchmark (about 70 %); code
must never assume they cover the whole search space.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from saswot.errors import CorruptDataError, InvalidArchError, SaswotError, UnknownNameError
from saswot.io import read_json
from saswot.paths import dataset_dir, require_path
from saswot.tnb101.encoding import SPACES, MacroArch, MicroArch, TNBArch, parse_arch

#: The seven TransNAS-Bench-101 tasks in NAS-Bench-Suite-Zero's files.
TNB_TASKS: tuple[str, ...] = (
    "class_scene",
    "class_object",
    "autoencoder",
    "normal",
    "jigsaw",
    "room_layout",
    "segmentsemantic",
)
DEFAULT_TASK = "segmentsemantic"
#: Record fields that are not proxy scores.
_NON_PROXY_FIELDS = frozenset({"idx", "arch", "val_accuracy"})


class TNBBenchmark:
    """Ground truth and reference scores of one TransNAS-Bench-101 space, loaded from a file.

    Attributes:
        space: ``"micro"`` or ``"macro"``.
        path: the file it was loaded from (``None`` when built from a mapping).
    """

    def __init__(
        self,
        space: str,
        data: Mapping[str, Mapping[str, Mapping[str, Any]]],
        path: Path | None = None,
    ) -> None:
        """Validate ``data`` (``{task: {key: record}}``) and index it by canonical key.

        Raises:
            CorruptDataError: a task is not a mapping, a key does not parse in ``space``, or a
                record lacks a finite ``val_accuracy``.
        """
        if space not in SPACES:
            raise InvalidArchError(f"unknown search space {space!r}; use 'micro' or 'macro'.")
        self.space = space
        self.path = path
        where = f"'{path}'" if path is not None else "the benchmark data"
        self._tasks: dict[str, dict[str, dict[str, Any]]] = {}
        self._archs: dict[str, TNBArch] = {}
        if not isinstance(data, Mapping) or not data:
            raise CorruptDataError(
                f"{where} must be a JSON object {{task: {{arch_key: record}}}}; got "
                f"{type(data).__name__}. Re-download the NAS-Bench-Suite-Zero file."
            )
        for task, records in data.items():
            if not isinstance(records, Mapping):
                raise CorruptDataError(
                    f"{where}: task {task!r} must map arch keys to records, got {type(records).__name__}."
                )
            table: dict[str, dict[str, Any]] = {}
            for raw_key, record in records.items():
                try:
                    arch = parse_arch(str(raw_key), space)
                except InvalidArchError as exc:
                    raise CorruptDataError(
                        f"{where}: task {task!r} has key {raw_key!r} that is not a valid {space} "
                        f"architecture ({exc}). Is this the {space} file?"
                    ) from exc
                if not isinstance(record, Mapping):
                    raise CorruptDataError(f"{where}: record {task}/{raw_key} is not a JSON object.")
                gt = record.get("val_accuracy")
                if isinstance(gt, bool) or not isinstance(gt, (int, float)) or not math.isfinite(gt):
                    raise CorruptDataError(
                        f"{where}: record {task}/{raw_key} has no finite numeric 'val_accuracy' "
                        f"(got {gt!r}). Re-download the NAS-Bench-Suite-Zero file."
                    )
                if arch.key in table:
                    raise CorruptDataError(f"{where}: task {task!r} lists architecture {arch.key} twice.")
                table[arch.key] = dict(record)
                self._archs.setdefault(arch.key, arch)
            self._tasks[str(task)] = table

    # ------------------------------------------------------------------ construction
    @staticmethod
    def default_path(space: str, data_root: str | os.PathLike[str] | None = None) -> Path:
        """``<data-root>/tnb101/zc_transbench101_<space>.json`` (not checked for existence)."""
        if space not in SPACES:
            raise InvalidArchError(f"unknown search space {space!r}; use 'micro' or 'macro'.")
        return dataset_dir("tnb101", data_root) / f"zc_transbench101_{space}.json"

    @classmethod
    def load(cls, path: str | os.PathLike[str], space: str | None = None) -> TNBBenchmark:
        """Load a NAS-Bench-Suite-Zero TransNAS-Bench-101 file.

        Args:
            path: the JSON file.
            space: ``"micro"``/``"macro"``; ``None`` infers it from the keys (a file whose keys
                are valid in both spaces is resolved by ``micro``/``macro`` in the file name).

        Raises:
            DataNotFoundError: the file does not exist (message says where to get it).
            CorruptDataError: bad JSON or bad content.
        """
        p = require_path(path, "tnb101", "TransNAS-Bench-101 benchmark file")
        data = read_json(
            p,
            "TransNAS-Bench-101 benchmark file",
            "Re-download zc_transbench101_<space>.json from automl/NASLib (naslib/data/).",
        )
        if not isinstance(data, dict) or not data:
            raise CorruptDataError(
                f"'{p}' must be a JSON object {{task: {{arch_key: record}}}}; got "
                f"{type(data).__name__}. Re-download the NAS-Bench-Suite-Zero file."
            )
        sp = space if space is not None else _infer_space(data, p)
        return cls(sp, data, p)

    # ------------------------------------------------------------------ queries
    @property
    def tasks(self) -> list[str]:
        """Tasks present in the file."""
        return list(self._tasks)

    def _table(self, task: str) -> dict[str, dict[str, Any]]:
        table = self._tasks.get(task)
        if table is not None:
            return table
        where = f"'{self.path}'" if self.path is not None else "the benchmark data"
        if task in TNB_TASKS:
            raise CorruptDataError(
                f"{where} has no records for task {task!r} (tasks present: {', '.join(self.tasks)}). "
                f"Re-download the NAS-Bench-Suite-Zero file."
            )
        raise UnknownNameError(f"unknown task {task!r}; TransNAS-Bench-101 tasks are: {', '.join(TNB_TASKS)}.")

    def _resolve(self, arch_or_key: TNBArch | str) -> TNBArch:
        try:
            return parse_arch(arch_or_key, self.space)
        except InvalidArchError as exc:
            raise InvalidArchError(f"{exc} (benchmark space: {self.space})") from exc

    def keys(self, task: str = DEFAULT_TASK) -> list[str]:
        """Canonical keys of ``task``'s architectures, in file order."""
        return list(self._table(task))

    def archs(self, task: str = DEFAULT_TASK) -> list[TNBArch]:
        """Architectures of ``task``, in file order."""
        return [self._archs[k] for k in self._table(task)]

    def record(self, arch_or_key: TNBArch | str, task: str = DEFAULT_TASK) -> dict[str, Any]:
        """A copy of the raw record of an architecture.

        Raises:
            UnknownNameError: the architecture is not in the file for ``task``.
        """
        arch = self._resolve(arch_or_key)
        table = self._table(task)
        rec = table.get(arch.key)
        if rec is None:
            where = f"'{self.path}'" if self.path is not None else "the benchmark data"
            raise UnknownNameError(
                f"architecture {arch.key} ({arch.arch_str}) is not in {where} for task {task!r} "
                f"({len(table)} {self.space} architectures; the file holds a subset of the benchmark). "
                f"List them with `saswot bench info --space {self.space} --json`."
            )
        return dict(rec)

    def ground_truth(self, arch_or_key: TNBArch | str, task: str = DEFAULT_TASK) -> float:
        """``val_accuracy`` of an architecture (segmentsemantic: final-epoch pixel accuracy, %)."""
        return float(self.record(arch_or_key, task)["val_accuracy"])

    def reference_score(self, arch_or_key: TNBArch | str, proxy: str, task: str = DEFAULT_TASK) -> float | None:
        """The recorded score of ``proxy`` (e.g. ``"nwot"``, ``"params"``), or ``None`` if not recorded.

        Values are returned as recorded (``epe_nas`` is -1e8 everywhere: it failed upstream).
        """
        entry = self.record(arch_or_key, task).get(proxy)
        if isinstance(entry, Mapping):
            entry = entry.get("score")
        if isinstance(entry, bool) or not isinstance(entry, (int, float)):
            return None
        return float(entry)

    def proxies(self, task: str = DEFAULT_TASK) -> list[str]:
        """Names of the proxies recorded for ``task`` (from its first record)."""
        table = self._table(task)
        if not table:
            return []
        first = next(iter(table.values()))
        return [k for k in first if k not in _NON_PROXY_FIELDS]

    def ground_truths(self, task: str = DEFAULT_TASK) -> dict[str, float]:
        """``{key: val_accuracy}`` for every architecture of ``task``."""
        return {k: float(r["val_accuracy"]) for k, r in self._table(task).items()}

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        task: str = DEFAULT_TASK,
        exclude: Iterable[TNBArch | str] = (),
    ) -> list[TNBArch]:
        """``n`` distinct architectures of ``task`` drawn uniformly without replacement.

        The same generator state gives the same sample.

        Args:
            n: sample size.
            rng: the generator to draw from.
            task: task whose architectures are sampled.
            exclude: architectures or keys to leave out.

        Raises:
            SaswotError: ``n`` is negative or larger than the number of candidates.
        """
        excluded = {self._resolve(e).key for e in exclude}
        candidates = [k for k in self._table(task) if k not in excluded]
        if n < 0 or n > len(candidates):
            raise SaswotError(
                f"cannot sample {n} architectures: {len(candidates)} {self.space} architectures are "
                f"available for task {task!r}; ask for at most {len(candidates)}."
            )
        idx = rng.choice(len(candidates), size=n, replace=False)
        return [self._archs[candidates[int(i)]] for i in idx]

    def __len__(self) -> int:
        """Number of architectures with ``segmentsemantic`` records (or of the first task)."""
        task = DEFAULT_TASK if DEFAULT_TASK in self._tasks else next(iter(self._tasks))
        return len(self._tasks[task])

    def __contains__(self, arch_or_key: object) -> bool:
        """Whether an architecture (or key/string) has a ``segmentsemantic`` record."""
        if not isinstance(arch_or_key, (str, MicroArch, MacroArch)):
            return False
        try:
            arch = parse_arch(arch_or_key, self.space)
        except InvalidArchError:
            return False
        task = DEFAULT_TASK if DEFAULT_TASK in self._tasks else next(iter(self._tasks))
        return arch.key in self._tasks[task]

    def __iter__(self) -> Iterator[TNBArch]:
        """Iterate over the ``segmentsemantic`` architectures (file order)."""
        task = DEFAULT_TASK if DEFAULT_TASK in self._tasks else next(iter(self._tasks))
        return iter(self.archs(task))

    def __repr__(self) -> str:
        return f"TNBBenchmark(space={self.space!r}, archs={len(self)}, tasks={len(self._tasks)}, path={self.path!r})"


def _infer_space(data: Mapping[str, Any], path: Path) -> str:
    keys: list[str] = []
    for records in data.values():
        if isinstance(records, Mapping):
            keys.extend(str(k) for k in records)
    fits = []
    for sp in SPACES:
        ok = True
        for k in keys:
            try:
                parse_arch(k, sp)
            except InvalidArchError:
                ok = False
                break
        if ok:
            fits.append(sp)
    if len(fits) == 1:
        return fits[0]
    name = path.name.lower()
    named = [sp for sp in SPACES if sp in name]
    if len(fits) == 2 and len(named) == 1:
        return named[0]
    if not fits:
        raise CorruptDataError(
            f"'{path}': its architecture keys are valid in neither the micro nor the macro space. "
            f"Re-download the NAS-Bench-Suite-Zero file."
        )
    raise CorruptDataError(f"'{path}': cannot tell whether the file is micro or macro; pass space='micro'|'macro'.")
