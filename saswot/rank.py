"""Library side of ``saswot rank``: score architectures (with an on-disk cache) and correlate.

The cache stores one small JSON file per architecture under
``<cache>/<settings-hash>/<arch-key>.json`` holding ``{proxy-cache-key: score}``. The settings
hash covers everything that changes a score (space, batch size, resolution, data source, seed,
number of classes, ignore index, activation bound, device, cache format version); a proxy's cache
key is its name, extended with the AVT fingerprint for AVT-based proxies and with a content hash
for proxies loaded from files. Files are written atomically after every architecture, so an
interrupted run resumes where it stopped and a repeated run recomputes nothing.

Networks are scored by one task function, :func:`score_one`, run by any executor of
:mod:`saswot.parallel` (serially here, local worker processes or Ray); the cache is written by
the calling process only, as results arrive.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from saswot.allocator import collect_on_exit
from saswot.correlation import correlation_table
from saswot.errors import ScoreError
from saswot.io import read_json, write_json
from saswot.parallel import Executor, SerialExecutor
from saswot.progress import make_progress
from saswot.proxies import SENTINEL, ProxySpec, score_network_detailed
from saswot.proxydata import make_batch

#: Bump when the meaning of cached scores changes.
CACHE_VERSION = 1


@dataclass(frozen=True)
class ScoreSettings:
    """Everything (besides the architecture and the proxy) that changes a proxy score."""

    space: str
    batch_size: int = 4
    resolution: tuple[int, int] = (64, 64)
    data: str = "camvid"
    seed: int = 0
    num_classes: int = 17
    ignore_index: int = 255
    act_max_elems: int = 4096
    device: str = "cpu"

    def to_json(self) -> dict[str, Any]:
        """Plain dict (resolution as a list)."""
        d = asdict(self)
        d["resolution"] = list(self.resolution)
        return d

    def fingerprint(self) -> str:
        """Short hash of the settings and :data:`CACHE_VERSION`."""
        blob = json.dumps({"v": CACHE_VERSION, **self.to_json()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def proxy_cache_key(spec: ProxySpec, avt: Any = None) -> str:
    """Cache identity of a proxy (AVT-based proxies include the AVT fingerprint)."""
    key = spec.cache_key
    if spec.needs_avt and avt is not None:
        key = f"{key}@avt-{avt.fingerprint()}"
    return key


class ScoreCache:
    """Per-architecture score files under ``root/<settings fingerprint>/``."""

    def __init__(self, root: str | Path, settings: ScoreSettings) -> None:
        self.folder = Path(root) / settings.fingerprint()
        self.settings = settings

    def _path(self, arch_key: str) -> Path:
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", arch_key).strip("_") or "arch"
        return self.folder / f"{safe}.json"

    def get(self, arch_key: str) -> dict[str, float]:
        """Cached ``{proxy key: score}`` of an architecture (empty if none)."""
        path = self._path(arch_key)
        if not path.is_file():
            return {}
        data = read_json(path, "score cache file", "Delete the cache folder to rebuild it.")
        if data.get("arch") != arch_key:
            return {}
        return {k: float(v) for k, v in data.get("scores", {}).items()}

    def put(self, arch_key: str, scores: Mapping[str, float]) -> None:
        """Merge ``scores`` into the architecture's cache file (atomic write)."""
        merged = self.get(arch_key)
        merged.update({k: float(v) for k, v in scores.items()})
        write_json(
            self._path(arch_key),
            {"arch": arch_key, "settings": self.settings.to_json(), "scores": merged},
        )


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
    settings: ScoreSettings
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
    settings = job.settings
    # free this network's reference cycles before building the next one, with a collection
    # that skips the long-lived objects (saswot.allocator)
    with collect_on_exit():
        model = job.build(arch)
        report = score_network_detailed(
            model,
            job.images,
            job.labels,
            wanted,
            num_classes=settings.num_classes,
            ignore_index=settings.ignore_index,
            avt=job.avt,
            device=settings.device,
            act_max_elems=settings.act_max_elems,
            seed=settings.seed,
        )
        out = (dict(report.scores), dict(report.failed))
        del model, report
    return out


def score_architectures(
    archs: Sequence[Any],
    specs: Sequence[ProxySpec],
    settings: ScoreSettings,
    build: Callable[[Any], nn.Module],
    *,
    key: Callable[[Any], str] = lambda a: a.key,
    avt: Any = None,
    cache: ScoreCache | None = None,
    data_root: str | None = None,
    batch: tuple[torch.Tensor, torch.Tensor] | None = None,
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
        settings: score settings (batch, resolution, data, seed, ...).
        build: ``arch -> nn.Module`` (called only for architectures with missing scores; must be
            picklable, e.g. a ``functools.partial``, for process or Ray executors).
        key: canonical key of an architecture (cache + result key).
        avt: AVT statistics for AVT-based proxies.
        cache: optional score cache (read before, written after each architecture).
        data_root: where CamVid is looked up.
        batch: a ready batch (else ``make_batch`` from ``settings``).
        progress: show a progress bar on stderr.
        description: progress bar label.
        executor: where the networks are scored (:mod:`saswot.parallel`); None: serially here.

    Returns:
        ``{arch key: ArchScores}`` in the order of ``archs``.
    """
    if not archs:
        raise ScoreError("no architecture to score: the architecture list is empty")
    if batch is None:
        batch = make_batch(
            settings.data,
            settings.batch_size,
            settings.resolution,
            settings.num_classes,
            settings.seed,
            data_root,
        )
    images, labels = batch
    ex = executor if executor is not None else SerialExecutor()
    ckeys = {s.name: proxy_cache_key(s, avt) for s in specs}
    job = ScoreJob(specs=tuple(specs), settings=settings, build=build, images=images, labels=labels, avt=avt)
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
    with make_progress(disable=not progress) as bar:
        cached = len(found) - len(todo)
        label = f"{description} ({cached} cached)" if cached else description
        task = bar.add_task(label, total=len(todo), status="" if ex.workers == 1 else f"{ex.workers} {ex.kind} workers")
        for outcome in ex.map(score_one, job, todo):
            k = todo_keys[outcome.index]
            names = todo[outcome.index][1]
            if outcome.ok:
                scores, failed = outcome.value  # type: ignore[misc]
                found[k].update(scores)
                failed_by[k].update(failed)
                seconds[k] = outcome.seconds
                if cache is not None:
                    cache.put(k, {ckeys[n]: v for n, v in scores.items()})
            else:
                found[k].update(dict.fromkeys(names, SENTINEL))
                failed_by[k].update({n: str(outcome.error) for n in names})
            bar.advance(task)
            if ex.workers == 1:
                bar.update(task, status=k)
    out: dict[str, ArchScores] = {}
    for k in keys:
        scores, failed = found[k], failed_by[k]
        for name, value in scores.items():
            if value == SENTINEL and name not in failed:
                failed[name] = "non-finite value (cached sentinel)"
        out[k] = ArchScores(scores={s.name: scores[s.name] for s in specs}, failed=failed, seconds=seconds.get(k))
    return out


def failures(per_arch: Mapping[str, ArchScores]) -> dict[str, dict[str, Any]]:
    """``{proxy: {"count": n, "archs": [keys]}}`` for proxies that hit the sentinel."""
    out: dict[str, dict[str, Any]] = {}
    for k, rec in per_arch.items():
        for name in rec.failed:
            entry = out.setdefault(name, {"count": 0, "archs": []})
            entry["count"] += 1
            entry["archs"].append(k)
    return out


def rank_result(
    per_arch: Mapping[str, ArchScores],
    truth: Mapping[str, float],
    proxies: Sequence[str],
    *,
    space: str,
    task: str,
    config: Mapping[str, Any],
    samples: int,
    sample_size: int,
    seed: int,
    exclude: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """The JSON document of ``saswot rank`` (correlations as fractions, not x100).

    The same ``samples`` random subsets (seeded with ``seed``) are used for every proxy;
    sentinel scores stay in (they rank last) and are listed under ``"failures"``. A proxy with
    an ``exclude`` entry (a discovered proxy: the architectures used to search and validate it)
    is correlated on the other architectures only, with subsets drawn from those (same seed);
    ``"archs_per_proxy"`` gives the number each proxy was judged on.
    """
    keys = list(per_arch)
    gt = [float(truth[k]) for k in keys]
    exclude = {p: set(v) for p, v in (exclude or {}).items() if p in proxies and set(v) & set(keys)}
    score_lists = {p: [per_arch[k].scores[p] for k in keys] for p in proxies if p not in exclude}
    corr = correlation_table(score_lists, gt, samples, sample_size, seed)
    counts = {p: len(keys) for p in score_lists}
    for p, used in exclude.items():
        unseen = [k for k in keys if k not in used]
        corr[p] = correlation_table(
            {p: [per_arch[k].scores[p] for k in unseen]}, [float(truth[k]) for k in unseen], samples, sample_size, seed
        )[p]
        counts[p] = len(unseen)
    order = list(proxies)
    return {
        "space": space,
        "task": task,
        "config": dict(config),
        "archs": {k: {"ground_truth": truth[k], "scores": dict(per_arch[k].scores)} for k in keys},
        "correlation": {p: corr[p] for p in order if p in corr},
        "archs_per_proxy": {p: counts[p] for p in order if p in counts},
        "failures": failures(per_arch),
    }


def table_rows(result: Mapping[str, Any], scale: float = 100.0) -> tuple[list[str], list[list[Any]]]:
    """Table-3-style rows: proxy, then mean +- std of Kendall, Spearman, Pearson (x ``scale``)."""
    columns = ["proxy", "Kendall", "Spearman", "Pearson", "archs", "failed"]
    rows = []
    fails = result.get("failures", {})
    counts = result.get("archs_per_proxy", {})
    for proxy, corr in result["correlation"].items():
        row: list[Any] = [proxy]
        for metric in ("kendall", "spearman", "pearson"):
            m, s = corr[metric]["mean"], corr[metric]["std"]
            row.append(f"{m * scale:.2f} ± {s * scale:.2f}" if m == m else "nan")
        row.append(counts.get(proxy, len(result.get("archs", {}))))
        row.append(fails.get(proxy, {}).get("count", 0))
        rows.append(row)
    return columns, rows
