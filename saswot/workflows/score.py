"""Scoring many architectures with zero-cost proxies, with an on-disk cache (``rank``, ``avt-calibrate``).

The cache stores one small JSON file per architecture under
``<cache>/<settings-hash>/<arch-key>.json`` holding ``{proxy-cache-key: score}``. The settings
hash covers everything that changes a score (space, batch size, resolution, data source, seed,
number of classes, ignore index, activation bound, device, cache format version); a proxy's cache
key is its name, extended with the AVT fingerprint for AVT-based proxies and with a content hash
for proxies loaded from files. Files are written atomically after every architecture, so an
interrupted run resumes where it stopped and a repeated run recomputes nothing.

Networks are scored by one task function, :func:`score_one`, run by any executor of
:mod:`saswot.runtime.parallel` (serially here, local worker processes or Ray); the cache is written by
the calling process only, as results arrive.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from saswot.config import ProxyBatch
from saswot.datasets.proxy_batch import RANDOM, dataset_available, make_batch, proxy_sources
from saswot.errors import NA_PREFIX, CorruptDataError, ParameterError, ScoreError
from saswot.proxies import SENTINEL, ProxySpec, ScoringSettings, score_network_detailed
from saswot.runtime.allocator import collect_on_exit
from saswot.runtime.parallel import DIED_TWICE, Executor, SerialExecutor
from saswot.runtime.progress import make_progress
from saswot.utils.io import read_json, write_json
from saswot.utils.paths import cache_dir, cache_file_name

#: Bump when the meaning of cached scores changes.
CACHE_VERSION = 1


def cache_settings(space: str, batch: ProxyBatch) -> dict[str, Any]:
    """What keys a score cache and is recorded in result files: the space and the proxy batch."""
    b = batch.to_json()
    order = ("batch_size", "resolution", "data", "seed", "num_classes", "ignore_index", "act_max_elems", "device")
    return {"space": space, **{k: b[k] for k in order}}


def settings_fingerprint(space: str, batch: ProxyBatch) -> str:
    """Short hash of :func:`cache_settings` and :data:`CACHE_VERSION` (the cache folder's name)."""
    blob = json.dumps({"v": CACHE_VERSION, **cache_settings(space, batch)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def proxy_cache_key(spec: ProxySpec, avt: Any = None) -> str:
    """Cache identity of a proxy (AVT-based proxies include the AVT fingerprint)."""
    key = spec.cache_key
    if spec.needs_avt and avt is not None:
        key = f"{key}@avt-{avt.fingerprint()}"
    return key


class ScoreCache:
    """Per-architecture score files under ``root/<settings fingerprint>/``."""

    def __init__(
        self, root: str | Path, space: str, batch: ProxyBatch, on_note: Callable[[str], None] | None = None
    ) -> None:
        self.folder = Path(root) / settings_fingerprint(space, batch)
        self.settings = cache_settings(space, batch)
        #: receives the one-line warning about a corrupt entry (default: printed on stderr)
        self.on_note = on_note if on_note is not None else _stderr_warning

    def _path(self, arch_key: str) -> Path:
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", arch_key).strip("_") or "arch"
        return self.folder / cache_file_name(safe, arch_key, ".json")

    def get(self, arch_key: str) -> dict[str, float]:
        """Cached ``{proxy key: score}`` of an architecture (empty if none; a corrupt entry is
        reported through ``on_note`` and read as empty, so that it is scored again and overwritten)."""
        return self._read(arch_key, warn=True)

    def _read(self, arch_key: str, warn: bool) -> dict[str, float]:
        path = self._path(arch_key)
        if not path.is_file():
            return {}
        try:
            data = read_json(path, "score cache file")
            if not isinstance(data, dict):
                raise CorruptDataError(f"score cache file at '{path}' is not a JSON object")
            if data.get("arch") != arch_key:  # another key with the same file name: not this one's entry
                return {}
            return {str(k): float(v) for k, v in dict(data.get("scores", {})).items()}
        except (CorruptDataError, TypeError, ValueError, AttributeError):
            # a cache entry is only a shortcut: a corrupt one (a disk fault, a killed writer of an
            # older version, a hand edit) is scored again and overwritten, never fatal
            if warn:
                self.on_note(f"corrupt score cache entry '{path}' (architecture {arch_key}): scoring it again")
            return {}

    def mark_running(self) -> Callable[[], None]:
        """Mark this process as scoring into the cache (``.run-<host>-<pid>``); returns the unmarking function."""
        self.folder.mkdir(parents=True, exist_ok=True)
        marker = self.folder / f".run-{socket.gethostname()}-{os.getpid()}"
        marker.write_text("")
        return lambda: marker.unlink(missing_ok=True)

    def other_runs(self) -> list[int]:
        """Process ids of the other live processes of this host scoring into the cache now."""
        host = socket.gethostname()
        pids = []
        for marker in self.folder.glob(f".run-{host}-*") if self.folder.is_dir() else []:
            text = marker.name.rsplit("-", 1)[-1]
            if not text.isdigit() or int(text) == os.getpid():
                continue
            try:
                os.kill(int(text), 0)
            except ProcessLookupError:
                marker.unlink(missing_ok=True)  # left by a killed run
                continue
            except PermissionError:
                pass
            pids.append(int(text))
        return sorted(pids)

    def put(self, arch_key: str, scores: Mapping[str, float]) -> None:
        """Merge ``scores`` into the architecture's cache file (atomic write)."""
        merged = self._read(arch_key, warn=False)
        merged.update({k: float(v) for k, v in scores.items()})
        write_json(
            self._path(arch_key),
            {"arch": arch_key, "settings": self.settings, "scores": merged},
        )


def _stderr_warning(text: str) -> None:
    """Print ``warning: text`` on stderr (the default note of :class:`ScoreCache`)."""
    sys.stderr.write(f"warning: {text}\n")
    sys.stderr.flush()


@dataclass
class ArchScores:
    """Scores of one architecture, the proxies that failed on it and the time it took.

    ``seconds`` is the wall time of scoring the network in its worker (None when every score came
    from the cache).
    """

    scores: dict[str, float]
    failed: dict[str, str]
    seconds: float | None = None


@dataclass(frozen=True)
class ScoreJob:
    """What every per-architecture scoring task reads (sent once to each task; picklable when
    ``build`` and the proxies are module-level functions or ``functools.partial`` of them)."""

    specs: tuple[ProxySpec, ...]
    batch: ProxyBatch
    build: Callable[[Any], nn.Module]
    images: torch.Tensor
    labels: torch.Tensor
    avt: Any = None


def score_one(job: ScoreJob, item: tuple[Any, tuple[str, ...]]) -> tuple[dict[str, float], dict[str, str]]:
    """Score one architecture with the named proxies of ``job`` (the task of every executor).

    The network's weights and the batch depend only on ``job`` and the architecture, never on the
    process that runs the task, so every executor gives the same scores.

    Args:
        job: shared settings, proxies, builder and batch.
        item: ``(architecture, names of the proxies to compute)``.

    Returns:
        ``(scores, failed)`` of :func:`saswot.proxies.score_network_detailed`.
    """
    arch, names = item
    wanted = [s for s in job.specs if s.name in set(names)]
    # free this network's reference cycles before building the next one, with a collection
    # that skips the long-lived objects (saswot.runtime.allocator)
    with collect_on_exit():
        model = job.build(arch)
        report = score_network_detailed(model, job.images, job.labels, wanted, ScoringSettings(job.batch, job.avt))
        out = (dict(report.scores), dict(report.failed))
        del model, report
    return out


def score_architectures(
    archs: Sequence[Any],
    specs: Sequence[ProxySpec],
    batch: ProxyBatch,
    build: Callable[[Any], nn.Module],
    *,
    key: Callable[[Any], str] = lambda a: a.key,
    avt: Any = None,
    cache: ScoreCache | None = None,
    data_root: str | None = None,
    images_labels: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress: bool = True,
    description: str = "scoring",
    executor: Executor | None = None,
) -> dict[str, ArchScores]:
    """Score every architecture with every proxy (one shared statistics pass per network).

    Architectures are scored by ``executor`` (default: in this process, in order); this process
    alone reads and writes the cache, once per architecture, as each result arrives, so an
    interrupted run keeps every finished architecture. An architecture whose worker died twice
    gets :data:`~saswot.proxies.SENTINEL` for its missing proxies, with the reason in
    ``failed``, and is not cached (a rerun scores it again).

    Args:
        archs: architectures (anything ``build`` accepts).
        specs: proxies.
        batch: the proxy batch's settings (source, size, resolution, seed, classes, device, ...).
        build: ``arch -> nn.Module`` (called only for architectures with missing scores; must be
            picklable, e.g. a ``functools.partial``, for process or Ray executors).
        key: canonical key of an architecture (cache + result key).
        avt: AVT statistics for AVT-based proxies.
        cache: optional score cache (read before, written after each architecture).
        data_root: where CamVid is looked up.
        images_labels: a ready batch (else ``make_batch`` from ``batch``).
        progress: show a progress bar on stderr.
        description: progress bar label.
        executor: where the networks are scored (:mod:`saswot.runtime.parallel`); None: serially here.

    Returns:
        ``{arch key: ArchScores}`` in the order of ``archs``.
    """
    if not archs:
        raise ScoreError("no architecture to score: the architecture list is empty")
    if images_labels is None:
        images_labels = make_batch(
            batch.data,
            batch.batch_size,
            batch.resolution,
            batch.num_classes,
            batch.seed,
            data_root,
        )
    images, labels = images_labels
    ex = executor if executor is not None else SerialExecutor()
    ckeys = {s.name: proxy_cache_key(s, avt) for s in specs}
    job = ScoreJob(specs=tuple(specs), batch=batch, build=build, images=images, labels=labels, avt=avt)
    keys = [key(a) for a in archs]
    found: dict[str, dict[str, float]] = {}
    todo: list[tuple[Any, tuple[str, ...]]] = []
    todo_keys: list[str] = []
    for arch, k in zip(archs, keys):
        if k in found:
            continue
        cached = cache.get(k) if cache is not None else {}
        found[k] = {s.name: cached[ckeys[s.name]] for s in specs if ckeys[s.name] in cached}
        missing = tuple(s.name for s in specs if ckeys[s.name] not in cached)
        if missing:
            todo.append((arch, missing))
            todo_keys.append(k)
    failed_by: dict[str, dict[str, str]] = {k: {} for k in found}
    seconds: dict[str, float] = {}
    unmark = cache.mark_running() if cache is not None and todo else (lambda: None)
    others = cache.other_runs() if cache is not None and todo else []
    if cache is not None and others:
        cache.on_note(
            f"another process (pid {', '.join(map(str, others))}) is scoring with the same settings into "
            f"'{cache.folder}': networks neither has cached yet are computed by both; let it finish and rerun "
            "to read its results from the cache"
        )
    try:
        _score_todo(ex, job, todo, todo_keys, found, failed_by, seconds, cache, ckeys, progress, description)
    finally:
        unmark()
    out: dict[str, ArchScores] = {}
    for k in keys:
        scores, failed = found[k], failed_by[k]
        for name, value in scores.items():
            if value == SENTINEL and name not in failed:
                failed[name] = "non-finite value (cached sentinel)"
        out[k] = ArchScores(scores={s.name: scores[s.name] for s in specs}, failed=failed, seconds=seconds.get(k))
    return out


def _score_todo(
    ex: Executor,
    job: ScoreJob,
    todo: list[tuple[Any, tuple[str, ...]]],
    todo_keys: list[str],
    found: dict[str, dict[str, float]],
    failed_by: dict[str, dict[str, str]],
    seconds: dict[str, float],
    cache: ScoreCache | None,
    ckeys: Mapping[str, str],
    progress: bool,
    description: str,
) -> None:
    """Score ``todo`` on ``ex``, filling ``found``, ``failed_by`` and ``seconds`` and the cache as results arrive."""
    with make_progress(disable=not progress) as bar:
        n_cached = len(found) - len(todo)
        label = f"{description} ({n_cached} cached)" if n_cached else description
        task = bar.add_task(label, total=len(todo), status="" if ex.workers == 1 else f"{ex.workers} {ex.kind} workers")
        for outcome in ex.map(score_one, job, todo):
            k = todo_keys[outcome.index]
            names = todo[outcome.index][1]
            if outcome.ok:
                scores, failed = outcome.value  # type: ignore[misc]
                found[k].update(scores)
                failed_by[k].update(failed)
                seconds[k] = outcome.seconds
                if cache is not None:  # an n/a score (the proxy raised) is not cached: a rerun tries again
                    kept = {ckeys[n]: v for n, v in scores.items() if not failed.get(n, "").startswith(NA_PREFIX)}
                    if kept:
                        cache.put(k, kept)
            else:
                found[k].update(dict.fromkeys(names, SENTINEL))
                failed_by[k].update({n: str(outcome.error) for n in names})
            bar.advance(task)
            if ex.workers == 1:
                bar.update(task, status=k)


def failures(per_arch: Mapping[str, ArchScores]) -> dict[str, dict[str, Any]]:
    """``{proxy: {"count": n, "archs": [keys], "reasons": {key: reason}}}`` for proxies that hit the
    sentinel (a reason starting with ``n/a:``: the proxy raised an error on that network)."""
    out: dict[str, dict[str, Any]] = {}
    for k, rec in per_arch.items():
        for name, reason in rec.failed.items():
            entry = out.setdefault(name, {"count": 0, "archs": [], "reasons": {}})
            entry["count"] += 1
            entry["archs"].append(k)
            entry["reasons"][k] = reason
    return out


def is_partial(per_arch: Mapping[str, ArchScores]) -> bool:
    """True if some proxy has no score on some network: it raised an error there (n/a) or its worker died twice."""
    return any(r.startswith((NA_PREFIX, DIED_TWICE)) for rec in per_arch.values() for r in rec.failed.values())


def resolve_data_source(data: str, data_root: str | None, on_note: Callable[[str], None] | None = None) -> str:
    """The proxy-batch source actually used: a dataset falls back to ``random`` (with a note) when it is absent.

    Raises:
        ParameterError: an unknown source.
    """
    if data not in proxy_sources():
        raise ParameterError(f"unknown {{batch.data}} '{data}'; use one of: {', '.join(proxy_sources())}")
    if not dataset_available(data, data_root):
        if on_note is not None:
            on_note(
                f"{data} not found under the data root; falling back to the random source (Gaussian images, random "
                f"labels). Put it at <data-root>/{data}/ or set SASWOT_DATA."
            )
        return RANDOM
    return data


def score_space_archs(
    space: Any,
    archs: Sequence[Any],
    specs: Sequence[ProxySpec],
    batch: ProxyBatch,
    *,
    cache: str | Path | None = None,
    avt: Any = None,
    data_root: str | None = None,
    progress: bool = True,
    description: str = "scoring",
    executor: Executor | None = None,
) -> tuple[dict[str, ArchScores], float]:
    """:func:`score_architectures` for architectures of a search space: networks built by the space with
    ``batch.seed``, keyed by the space's canonical key, cached under ``cache`` (default ``<cache root>/scores``).

    Returns:
        ``({arch key: ArchScores}, wall seconds)``.
    """
    store = ScoreCache(cache if cache is not None else cache_dir("scores"), space.name, batch)
    t0 = time.perf_counter()
    per_arch = score_architectures(
        archs,
        specs,
        batch,
        functools.partial(space.build, num_classes=batch.num_classes, seed=batch.seed),
        key=space.key,
        avt=avt,
        cache=store,
        data_root=data_root,
        progress=progress,
        description=description,
        executor=executor,
    )
    return per_arch, time.perf_counter() - t0


def scoring_timing(per_arch: Mapping[str, ArchScores], wall_s: float) -> dict[str, Any]:
    """Timing block of a result file: wall time, per-network seconds (None: from the cache)."""
    per = {k: rec.seconds for k, rec in per_arch.items()}
    done = [v for v in per.values() if v is not None]
    return {
        "wall_s": round(wall_s, 3),
        "computed": len(done),
        "cached": len(per) - len(done),
        "mean_per_arch_s": (sum(done) / len(done)) if done else None,
        "per_arch_s": per,
    }
