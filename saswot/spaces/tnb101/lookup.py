"""Lookup of TransNAS-Bench-101 ground truth and reference proxy scores.

Reads NAS-Bench-Suite-Zero's ``zc_transbench101_{micro,macro}.json`` tables, laid out as
``{task: {arch_key: record}}`` where a record holds ``val_accuracy`` (ground truth) and one
``{"score", "time"}`` entry per recorded proxy (``params``, ``flops``, ``grasp``, ``fisher``,
``grad_norm``, ``l2_norm``, ``plain``, ``nwot``, ``epe_nas``, ``jacov``, ``snip``).

The files given to this project hold a development subset of the benchmark (about 70 %); code
must never assume they cover the whole search space.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from saswot.errors import CorruptDataError, InvalidArchError, SaswotError, UnknownNameError
from saswot.spaces.base import get_space
from saswot.spaces.table import TableBenchmark
from saswot.spaces.tnb101.encoding import SPACES, MacroArch, MicroArch, TNBArch, parse_arch
from saswot.utils.io import read_json
from saswot.utils.paths import dataset_dir, require_path

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


class TNBBenchmark(TableBenchmark):
    """Ground truth and reference scores of one TransNAS-Bench-101 space, loaded from a file.

    Attributes:
        space: ``"micro"`` or ``"macro"``.
        path: the file it was loaded from (``None`` when built from a mapping).
    """

    fix_hint = "Re-download the NAS-Bench-Suite-Zero file."

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
        super().__init__(get_space(space), data, path, DEFAULT_TASK)
        self.default_task = DEFAULT_TASK  # even when absent: asking for it then names the corrupt file

    # ------------------------------------------------------------------ construction
    @staticmethod
    def default_path(space: str, data_root: str | os.PathLike[str] | None = None) -> Path:
        """``<data-root>/tnb101/zc_transbench101_<space>.json`` (not checked for existence)."""
        if space not in SPACES:
            raise InvalidArchError(f"unknown search space {space!r}; use 'micro' or 'macro'.")
        return dataset_dir("tnb101", data_root) / f"zc_transbench101_{space}.json"

    @classmethod
    def load(cls, path: str | os.PathLike[str], space: str | None = None) -> TNBBenchmark:  # type: ignore[override]
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
    def _unknown_task(self, task: str) -> SaswotError:
        if task in TNB_TASKS:
            return CorruptDataError(
                f"{self._where()} has no records for task {task!r} (tasks present: {', '.join(self.tasks)}). "
                f"Re-download the NAS-Bench-Suite-Zero file."
            )
        return UnknownNameError(f"unknown task {task!r}; TransNAS-Bench-101 tasks are: {', '.join(TNB_TASKS)}.")

    def __contains__(self, arch_or_key: object) -> bool:
        """Whether an architecture (or key/string) has a ``segmentsemantic`` record."""
        if not isinstance(arch_or_key, (str, MicroArch, MacroArch)):
            return False
        return super().__contains__(arch_or_key)


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


__all__ = ["DEFAULT_TASK", "TNB_TASKS", "TNBArch", "TNBBenchmark"]
