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
from saswot.errors import CorruptDataError, ScoreError
from saswot.io import read_json, write_json
from saswot.parallel import Executor, SerialExecutor
from saswot.progress import make_progress
from saswot.proxies import NA_PREFIX, SENTINEL, ProxySpec, ScoringSettings, score_network_detailed
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

    def scoring(self, avt: Any = None) -> ScoringSettings:
        """The :class:`saswot.proxies.ScoringSettings` of these settings, with ``avt`` statistics."""
        return ScoringSettings(
            num_classes=self.num_classes,
            ignore_index=self.ignore_index,
            device=self.device,
            act_max_elems=self.act_max_elems,
            seed=self.seed,
            avt=avt,
        )


def proxy_cache_key(spec: ProxySpec, avt: Any = None) -> str:
    """Cache identity of a proxy (AVT-based proxies include the AVT fingerprint)."""
    key = spec.cache_key
    if spec.needs_avt and avt is not None:
        key = f"{key}@avt-{avt.fingerprint()}"
    return key


class ScoreCache:
    """Per-architecture score files under ``root/<settings fingerprint>/``."""

    def __init__(self, root: str | Path, settings: ScoreSettings, on_note: Callable[[str], None] | None = None) -> None:
        self.folder = Path(root) / settings.fingerprint()
        self.settings = settings
        #: receives the one-line warning about a corrupt entry (default: printed on stderr)
        self.on_note = on_note if on_note is not None else _stderr_warning

    def _path(self, arch_key: str) -> Path:
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", arch_key).strip("_") or "arch"
        if len(safe) > 120:  # long keys (e.g. FasterSeg's) keep a readable prefix and a hash: names stay < 255 bytes
            safe = f"{safe[:80]}-{hashlib.sha256(arch_key.encode()).hexdigest()[:16]}"
        return self.folder / f"{safe}.json"

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
        import os
        import socket

        self.folder.mkdir(parents=True, exist_ok=True)
        marker = self.folder / f".run-{socket.gethostname()}-{os.getpid()}"
        marker.write_text("")
        return lambda: marker.unlink(missing_ok=True)

    def other_runs(self) -> list[int]:
        """Process ids of the other live processes of this host scoring into the cache now."""
        import os
        import socket

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
            {"arch": arch_key, "settings": self.settings.to_json(), "scores": merged},
        )


def _stderr_warning(text: str) -> None:
    """Print ``warning: text`` on stderr (the default note of :class:`ScoreCache`)."""
    import sys

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
    # free this network's reference cycles before building the next one, with a collection
    # that skips the long-lived objects (saswot.allocator)
    with collect_on_exit():
        model = job.build(arch)
        report = score_network_detailed(model, job.images, job.labels, wanted, job.settings.scoring(job.avt))
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
    from saswot.parallel import DIED_TWICE

    return any(r.startswith((NA_PREFIX, DIED_TWICE)) for rec in per_arch.values() for r in rec.failed.values())


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


# ---------------------------------------------------------------------------------------- workflows
def resolve_data_source(data: str, data_root: str | None, on_note: Callable[[str], None] | None = None) -> str:
    """The proxy-batch source actually used: a dataset falls back to ``random`` (with a note) when it is absent.

    Raises:
        InvalidArchError: an unknown source.
    """
    from saswot.errors import InvalidArchError
    from saswot.proxydata import RANDOM, dataset_available, proxy_sources

    if data not in proxy_sources():
        raise InvalidArchError(f"unknown --data '{data}'; use one of: {', '.join(proxy_sources())}")
    if not dataset_available(data, data_root):
        if on_note is not None:
            on_note(
                f"{data} not found under the data root; falling back to --data random (Gaussian images, random "
                f"labels). Put it at <data-root>/{data}/ or set SASWOT_DATA."
            )
        return RANDOM
    return data


def score_space_archs(
    space: Any,
    archs: Sequence[Any],
    specs: Sequence[ProxySpec],
    settings: ScoreSettings,
    *,
    cache: str | Path | None = None,
    avt: Any = None,
    data_root: str | None = None,
    progress: bool = True,
    description: str = "scoring",
    executor: Executor | None = None,
) -> tuple[dict[str, ArchScores], float]:
    """:func:`score_architectures` for architectures of a search space: networks built by the space with
    ``settings.seed``, keyed by the space's canonical key, cached under ``cache`` (default ``<cache root>/scores``).

    Returns:
        ``({arch key: ArchScores}, wall seconds)``.
    """
    import functools
    import time

    from saswot.paths import cache_dir

    store = ScoreCache(cache if cache is not None else cache_dir("scores"), settings)
    t0 = time.perf_counter()
    per_arch = score_architectures(
        archs,
        specs,
        settings,
        functools.partial(space.build, num_classes=settings.num_classes, seed=settings.seed),
        key=space.key,
        avt=avt,
        cache=store,
        data_root=data_root,
        progress=progress,
        description=description,
        executor=executor,
    )
    return per_arch, time.perf_counter() - t0


def request_settings(space: Any, req: Any, source: str, device: str) -> ScoreSettings:
    """The score settings of a rank or AVT request (:class:`RankRequest`, :class:`AVTRequest`) on ``space``,
    with the proxy-batch source actually used and the checked device."""
    return ScoreSettings(
        space=space.name,
        batch_size=req.batch_size,
        resolution=(int(req.resolution[0]), int(req.resolution[1])),
        data=source,
        seed=req.seed,
        num_classes=space.num_classes,
        device=device,
    )


@dataclass(frozen=True)
class RankRequest:
    """One ``saswot rank`` run: which archs of which space, which proxies, which proxy batch.

    Attributes:
        space: a registered search space with ground truth (:mod:`saswot.spaces`).
        proxies: ``all``, names, proxy files and ensembles (``ensemble:a,b``; groups separated by ``;``).
        bench: ground-truth file (default: the space's file under the data root).
        task: the benchmark task (default: the benchmark's default task).
        samples, sample_size: random subsets for mean ± std of the correlations.
        seed: seed of the batch, the initialisation, the arch sample and the subsets.
        archs: ``"all"`` or the size of a random sample.
        batch_size, resolution, data, data_root, device: the proxy batch and where to score.
        cache: score cache folder (default ``<cache root>/scores``).
        avt_file: AVT statistics (default: packaged for the space).
    """

    space: str
    proxies: str
    bench: str | None = None
    task: str | None = None
    samples: int = 10
    sample_size: int = 50
    seed: int = 0
    archs: str = "all"
    batch_size: int = 4
    resolution: tuple[int, int] = (64, 64)
    data: str = "camvid"
    data_root: str | None = None
    device: str = "cpu"
    cache: str | Path | None = None
    avt_file: str | Path | None = None


@dataclass
class RankOutcome:
    """The result document of a rank run and the per-architecture scores behind it."""

    result: dict[str, Any]
    per_arch: dict[str, ArchScores]
    truth: dict[str, float]
    names: list[str]


def select_archs(bench: Any, archs: str, task: str | None, seed: int) -> list[Any]:
    """``"all"`` architectures of ``task`` or a seeded random sample of ``int(archs)``.

    Raises:
        InvalidArchError: not a number or ``all``, below 1, or nothing to rank.
    """
    from saswot.errors import InvalidArchError
    from saswot.seeding import make_rng

    if archs.strip().lower() == "all":
        selected = bench.archs(task)
    else:
        try:
            n = int(archs)
        except ValueError:
            raise InvalidArchError(f"bad --archs '{archs}': give a number or 'all'") from None
        if n < 1:
            raise InvalidArchError(f"--archs must be >= 1 (got {n}): the architecture list would be empty")
        selected = bench.sample(n, make_rng(seed), task)
    if not selected:
        raise InvalidArchError(f"no architectures to rank for task '{task}' in {bench.path}")
    return selected


def load_benchmark(space: Any, bench: str | Path | None, data_root: str | None) -> Any:
    """The ground truth of ``space`` (a name or a space): ``bench`` or the space's default file.

    Raises:
        UnknownNameError: an unknown space, or one without ground truth.
    """
    from saswot.spaces import BENCHMARK, get_space

    sp = get_space(space, BENCHMARK)
    return sp.benchmark(bench, data_root)


def avt_mismatch(avt: Any, settings: ScoreSettings) -> list[str]:
    """Settings in which ``avt`` was calibrated differently from ``settings`` (batch, resolution, data, seed, classes)."""
    meta = dict(avt.meta.get("settings", {}))
    current = settings.to_json()
    return [
        k for k in ("batch_size", "resolution", "data", "seed", "num_classes") if k in meta and meta[k] != current[k]
    ]


def run_rank(
    req: RankRequest,
    *,
    progress: bool = True,
    executor: Executor | None = None,
    on_note: Callable[[str], None] | None = None,
) -> RankOutcome:
    """Score the requested architectures of a space and correlate every proxy with the ground truth.

    Args:
        req: what to rank.
        progress: progress bar on stderr.
        executor: where networks are scored (:mod:`saswot.parallel`); None: in this process.
        on_note: receives one-line warnings (CamVid absent, AVT calibrated differently, ...).

    Returns:
        A :class:`RankOutcome`; ``result`` is the JSON document of ``saswot rank``.
    """

    from saswot.device import check_device
    from saswot.ensemble import add_ensemble_scores, split_for_rank
    from saswot.errors import InvalidArchError
    from saswot.predictor import PredictorObjective
    from saswot.proxies import resolve_proxies
    from saswot.proxies.avt import AVTStats
    from saswot.spaces import BENCHMARK, get_space
    from saswot.spaces.base import require_benchmark

    note = on_note or (lambda _text: None)
    if req.samples < 1 or req.sample_size < 2:
        raise InvalidArchError("--samples must be >= 1 and --sample-size >= 2")
    if req.batch_size < 2:
        raise InvalidArchError("--batch-size must be >= 2 (NWOT, jacov and epe_nas compare images)")
    device = check_device(req.device)
    space = get_space(req.space, BENCHMARK)
    to_score, ensembles = split_for_rank(req.proxies)  # ensembles: members are scored, then aggregated below
    to_score, predictor_refs = split_predictors(to_score)  # predictor files score the architectures themselves
    objectives = [PredictorObjective(ref, space.name) for ref in predictor_refs]
    specs = resolve_proxies(to_score) if to_score else []
    bm = require_benchmark(space, req.bench, req.data_root)
    task = req.task or bm.default_task
    selected = select_archs(bm, req.archs, task, req.seed)
    if req.sample_size >= len(selected):
        note(
            f"--sample-size {req.sample_size} is not smaller than the {len(selected)} architectures ranked, so every "
            "sample holds the same architectures and each ± is 0.00; rank more architectures (--archs) or lower "
            "--sample-size"
        )
    truth = bm.ground_truths(task)
    source = resolve_data_source(req.data, req.data_root, note)
    settings = request_settings(space, req, source, device)
    avt = None
    if any(s.needs_avt for s in specs):
        avt = AVTStats.read(req.avt_file) if req.avt_file else AVTStats.load(space.name)
        diff = avt_mismatch(avt, settings)
        if diff:
            meta = dict(avt.meta.get("settings", {}))
            note(
                f"AVT statistics were calibrated with different settings ({', '.join(diff)}: "
                f"{ {k: meta[k] for k in diff} }); saswot scores may fall outside [0, 2]. "
                "Recalibrate with `saswot avt-calibrate` for these settings."
            )
    ex = executor if executor is not None else SerialExecutor()
    per_arch, wall = score_space_archs(
        space,
        selected,
        specs,
        settings,
        cache=req.cache,
        avt=avt,
        data_root=req.data_root,
        progress=progress,
        description=f"rank {space.name}",
        executor=ex,
    )
    add_ensemble_scores(per_arch, ensembles)  # pool-level rank aggregation (ensembles, aznas)
    for objective in objectives:
        values = objective.predictor.score_many([space.parse(k) for k in per_arch])
        for k, v in zip(list(per_arch), values):
            per_arch[k].scores[objective.name] = v
    config = {
        **settings.to_json(),
        "task": task,
        "proxies": [s.name for s in specs] + [o.name for o in objectives],
        "samples": req.samples,
        "sample_size": req.sample_size,
        "archs": req.archs,
        "n_archs": len(per_arch),
        "bench": str(bm.path),
        "data_requested": req.data,
        "avt": avt.to_json() if avt is not None else None,
        "sentinel": SENTINEL,
    }
    names = [s.name for s in specs] + [o.name for o in objectives] + [e.name for e in ensembles]
    # discovered proxies are judged on the architectures not used to search or validate them
    chosen: dict[str, Collection[str]] = {
        s.name: s.chosen_on[1] for s in specs if s.chosen_on is not None and s.chosen_on[0] == space.name
    }
    # ... and a predictor on those it was not fitted on
    chosen.update({o.name: list(o.predictor.keys) for o in objectives})
    # ... and so is an ensemble with a discovered member: on the architectures none of its members saw
    chosen.update(ensemble_exclusions(ensembles, chosen))
    result = rank_result(
        per_arch,
        truth,
        names,
        space=space.name,
        task=task,
        config=config,
        samples=req.samples,
        sample_size=req.sample_size,
        seed=req.seed,
        exclude=chosen,
    )
    result["executor"] = ex.describe()
    result["timing"] = scoring_timing(per_arch, wall)
    result["notes"] = judged_on_notes(result)
    return RankOutcome(result=result, per_arch=dict(per_arch), truth=truth, names=names)


def split_predictors(to_score: str | list[str]) -> tuple[str | list[str], list[str]]:
    """Separate predictor files (``predictor:FILE`` / ``predictor:NAME``) from the proxies to score."""
    from saswot.predictor import is_predictor_ref
    from saswot.proxies.ensemble import split_proxy_list

    items = split_proxy_list(to_score)[0] if isinstance(to_score, str) else list(to_score)
    predictors = [t for t in items if is_predictor_ref(t)]
    if not predictors:
        return to_score, []
    rest = [t for t in items if not is_predictor_ref(t)]
    return rest, predictors


def ensemble_exclusions(ensembles: Sequence[Any], chosen: Mapping[str, Collection[str]]) -> dict[str, list[str]]:
    """``{ensemble name: architectures to leave out}``: the union of those its discovered members
    (keys of ``chosen``) were searched and validated on; ensembles without one are not listed."""
    from saswot.proxies import resolve_proxy
    from saswot.proxies.ensemble import proxy_of

    out: dict[str, list[str]] = {}
    for ens in ensembles:
        used: set[str] = set()
        for member in ens.members:
            name = resolve_proxy(proxy_of(member)[0]).name
            used |= set(chosen.get(name, ()))
        if used:
            out[ens.name] = sorted(used)
    return out


def judged_on_notes(result: Mapping[str, Any]) -> list[str]:
    """One footnote per proxy judged on fewer architectures than were ranked, saying why."""
    total = len(result.get("archs", {}))
    notes = []
    for proxy, count in result.get("archs_per_proxy", {}).items():
        if count < total:
            what = (
                "the predictor was fitted on"
                if proxy.startswith("predictor:")
                else "used to search and validate its discovered proxy"
            )
            notes.append(
                f"{proxy}: judged on {count} of {total} architectures; the {total - count} {what} are left out "
                "(a proxy is not judged on the architectures it was chosen on)"
            )
    return notes


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


@dataclass(frozen=True)
class AVTRequest:
    """One AVT calibration: min/max of raw proxies over a seeded sample of a space's benchmark archs.

    Attributes:
        space: a registered space with ground truth.
        n: size of the pre-sampled architecture set.
        proxies: the raw proxies whose ranges to record.
        sample_seed: seed of the architecture sample.
        seed, batch_size, resolution, data, data_root, device, cache, bench, task: as :class:`RankRequest`.
    """

    space: str
    n: int = 50
    proxies: str = "saswot_minus,nwot"
    sample_seed: int = 2024
    seed: int = 0
    batch_size: int = 4
    resolution: tuple[int, int] = (64, 64)
    data: str = "camvid"
    data_root: str | None = None
    device: str = "cpu"
    cache: str | Path | None = None
    bench: str | None = None
    task: str | None = None


def run_avt_calibration(
    req: AVTRequest,
    *,
    proxy_file: str | Path | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    on_note: Callable[[str], None] | None = None,
) -> tuple[Any, Any]:
    """AVT statistics of ``req.proxies`` (and, with ``proxy_file``, new AVT ranges for that proxy file).

    Returns:
        ``(stats, file_ranges)``: the :class:`~saswot.proxies.avt.AVTStats` of the raw proxies, and
        the re-calibrated ranges of the proxy file's expression and nwot (None without ``proxy_file``;
        the caller writes them into the file).

    Raises:
        InvalidArchError: ``n`` below 2 or an AVT-normalised proxy among ``req.proxies``.
        ScoreError: a worker died twice on some architecture (the others are cached: rerun).
    """

    from saswot.device import check_device
    from saswot.errors import InvalidArchError
    from saswot.parallel import DIED_TWICE
    from saswot.proxies import resolve_proxies
    from saswot.proxies.avt import calibrate_avt
    from saswot.seeding import make_rng
    from saswot.spaces import BENCHMARK, get_space
    from saswot.spaces.base import require_benchmark

    if req.n < 2:
        raise InvalidArchError("--n must be >= 2")
    space = get_space(req.space, BENCHMARK)
    bm = require_benchmark(space, req.bench, req.data_root)
    archs = bm.sample(req.n, make_rng(req.sample_seed), req.task or bm.default_task)
    source = resolve_data_source(req.data, req.data_root, on_note)
    settings = request_settings(space, req, source, check_device(req.device))
    recorded = resolve_proxies(req.proxies)
    if any(s.needs_avt for s in recorded):
        raise InvalidArchError("--proxies: AVT ranges are taken of raw proxies, not of AVT-based ones (e.g. saswot)")
    specs = recorded
    expression = None
    if proxy_file is not None:
        from saswot.autoproxy import load_proxy_file

        expression = load_proxy_file(Path(proxy_file), combine=None)
        specs = resolve_proxies([*recorded, expression, "nwot"])
    ex = executor if executor is not None else SerialExecutor()
    per_arch, wall = score_space_archs(
        space,
        archs,
        specs,
        settings,
        cache=req.cache,
        data_root=req.data_root,
        progress=progress,
        description=f"avt {space.name}",
        executor=ex,
    )
    died = sorted(
        k
        for k, rec in per_arch.items()
        if rec.seconds is None and rec.failed and any(v.startswith(DIED_TWICE) for v in rec.failed.values())
    )
    if died:
        raise ScoreError(
            f"cannot calibrate AVT: the worker scoring {len(died)} architecture(s) died twice "
            f"({', '.join(died[:5])}); rerun to score them again (finished ones are cached)"
        )
    keys = [space.key(a) for a in archs]
    lists = {s.name: [per_arch[k].scores[s.name] for k in keys] for s in specs}
    file_ranges = None
    if expression is not None:
        file_ranges = calibrate_avt({"expression": lists[expression.name], "nwot": lists["nwot"]})
    meta = {
        "space": space.name,
        "settings": settings.to_json(),
        "sample_seed": req.sample_seed,
        "archs": keys,
        "command": f"saswot avt-calibrate --space {space.name} --n {req.n} --seed {req.seed} --sample-seed "
        f"{req.sample_seed} --batch-size {req.batch_size} --resolution {req.resolution[0]}x{req.resolution[1]} "
        f"--data {source} --proxies {req.proxies}",
        "executor": ex.describe(),
        "timing": scoring_timing(per_arch, wall),
    }
    stats = calibrate_avt({s.name: lists[s.name] for s in recorded}, meta)
    return stats, file_ranges
