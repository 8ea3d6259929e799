"""Library side of ``saswot rank``: score a space's benchmark architectures with zero-cost proxies
(:mod:`saswot.workflows.score`, cached) and correlate every proxy with the ground truth."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saswot.config import ProxyBatch, RankConfig
from saswot.errors import InvalidArchError, ParameterError
from saswot.proxies import SENTINEL, resolve_proxies, resolve_proxy
from saswot.proxies._avt import AVTStats
from saswot.proxies._ensemble import proxy_of, split_proxy_list
from saswot.runtime.device import check_device
from saswot.runtime.parallel import Executor, SerialExecutor
from saswot.runtime.seeding import make_rng
from saswot.search.predictor import PredictorObjective, is_predictor_ref
from saswot.spaces import BENCHMARK, get_space
from saswot.spaces.base import require_benchmark
from saswot.utils.correlation import correlation_table
from saswot.workflows.ensemble_rank import add_ensemble_scores, split_for_rank
from saswot.workflows.score import (
    ArchScores,
    cache_settings,
    failures,
    resolve_data_source,
    score_space_archs,
    scoring_timing,
)


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
        ParameterError: ``archs`` not a number or ``all``, or below 1.
        InvalidArchError: nothing to rank.
    """
    if archs.strip().lower() == "all":
        selected = bench.archs(task)
    else:
        try:
            n = int(archs)
        except ValueError:
            raise ParameterError(f"bad {{archs}} '{archs}': give a number or 'all'") from None
        if n < 1:
            raise ParameterError(f"{{archs}} must be >= 1 (got {n}): the architecture list would be empty")
        selected = bench.sample(n, make_rng(seed), task)
    if not selected:
        raise InvalidArchError(f"no architectures to rank for task '{task}' in {bench.path}")
    return selected


def load_benchmark(space: Any, bench: str | Path | None, data_root: str | None) -> Any:
    """The ground truth of ``space`` (a name or a space): ``bench`` or the space's default file.

    Raises:
        UnknownNameError: an unknown space, or one without ground truth.
    """
    sp = get_space(space, BENCHMARK)
    return sp.benchmark(bench, data_root)


def avt_mismatch(avt: Any, batch: ProxyBatch) -> list[str]:
    """Settings in which ``avt`` was calibrated differently from ``batch`` (batch size, resolution, data, seed, classes)."""
    meta = dict(avt.meta.get("settings", {}))
    current = batch.to_json()
    return [
        k for k in ("batch_size", "resolution", "data", "seed", "num_classes") if k in meta and meta[k] != current[k]
    ]


def run_rank(
    req: RankConfig,
    *,
    progress: bool = True,
    executor: Executor | None = None,
    on_note: Callable[[str], None] | None = None,
) -> RankOutcome:
    """Score the requested architectures of a space and correlate every proxy with the ground truth.

    Args:
        req: what to rank.
        progress: progress bar on stderr.
        executor: where networks are scored (:mod:`saswot.runtime.parallel`); None: in this process.
        on_note: receives one-line warnings (CamVid absent, AVT calibrated differently, ...).

    Returns:
        A :class:`RankOutcome`; ``result`` is the JSON document of ``saswot rank``.
    """
    note = on_note or (lambda _text: None)
    if req.samples < 1 or req.sample_size < 2:
        raise ParameterError("{samples} must be >= 1 and {sample_size} >= 2")
    req.batch.check()
    device = check_device(req.batch.device)
    space = get_space(req.space, BENCHMARK)
    to_score, ensembles = split_for_rank(req.proxies)  # ensembles: members are scored, then aggregated below
    to_score, predictor_refs = split_predictors(to_score)  # predictor files score the architectures themselves
    objectives = [PredictorObjective(ref, space.name) for ref in predictor_refs]
    specs = resolve_proxies(to_score) if to_score else []
    bm = require_benchmark(space, req.bench, req.data_root)
    task = req.task or bm.default_task
    selected = select_archs(bm, req.archs, task, req.batch.seed)
    if req.sample_size >= len(selected):
        note(
            f"sample size {req.sample_size} is not smaller than the {len(selected)} architectures ranked, so every "
            "sample holds the same architectures and each ± is 0.00; rank more architectures or lower the sample size"
        )
    truth = bm.ground_truths(task)
    source = resolve_data_source(req.batch.data, req.data_root, note)
    batch = req.batch.replace(
        resolution=(int(req.batch.resolution[0]), int(req.batch.resolution[1])),
        data=source,
        num_classes=space.num_classes,
        device=device,
    )
    avt = None
    if any(s.needs_avt for s in specs):
        avt = AVTStats.read(req.avt_file) if req.avt_file else AVTStats.load(space.name)
        diff = avt_mismatch(avt, batch)
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
        batch,
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
        **cache_settings(space.name, batch),
        "task": task,
        "proxies": [s.name for s in specs] + [o.name for o in objectives],
        "samples": req.samples,
        "sample_size": req.sample_size,
        "archs": req.archs,
        "n_archs": len(per_arch),
        "bench": str(bm.path),
        "data_requested": req.batch.data,
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
        seed=req.batch.seed,
        exclude=chosen,
    )
    result["executor"] = ex.describe()
    result["timing"] = scoring_timing(per_arch, wall)
    result["notes"] = judged_on_notes(result)
    return RankOutcome(result=result, per_arch=dict(per_arch), truth=truth, names=names)


def split_predictors(to_score: str | list[str]) -> tuple[str | list[str], list[str]]:
    """Separate predictor files (``predictor:FILE`` / ``predictor:NAME``) from the proxies to score."""
    items = split_proxy_list(to_score)[0] if isinstance(to_score, str) else list(to_score)
    predictors = [t for t in items if is_predictor_ref(t)]
    if not predictors:
        return to_score, []
    rest = [t for t in items if not is_predictor_ref(t)]
    return rest, predictors


def ensemble_exclusions(ensembles: Sequence[Any], chosen: Mapping[str, Collection[str]]) -> dict[str, list[str]]:
    """``{ensemble name: architectures to leave out}``: the union of those its discovered members
    (keys of ``chosen``) were searched and validated on; ensembles without one are not listed."""
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
