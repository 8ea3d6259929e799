"""The training-free segmenter search, whatever the space: :func:`run_arch_search`.

The space (one with the ``segmenter-search`` capability, :class:`saswot.spaces.base.SegmenterSearch`)
gives the search problem and checks the budget; this module builds the proxy batch and the
scorer, rejects an unreachable budget up front (through the space), calibrates AVT
(for AVT-normalised proxies, on a seeded random sample of the same space), runs the evolution
(checkpointed after every iteration, resumable) and optionally the random-search baseline with
the same number of evaluations, and writes the result document, its curve and checkpoint::

    doc = run_arch_search(ArchSearchConfig(proxy="saswot", max_gmacs=27.8), "results/arch.json")
    doc["search"]["gmacs"], doc["search"]["score"]

Files beside ``out`` (one naming scheme, :func:`saswot.utils.io.sibling`): ``<stem>.ckpt.json``
(evolution checkpoint), ``<stem>.avt.json`` (AVT statistics), ``<stem>.ensemble.json`` (the
calibration of an ensemble proxy given without one, e.g. ``ensemble:nwot,flops``: its members'
scores on ``avt_samples`` seeded random architectures of the space), ``<stem>.curve.png`` and, with
the baseline, ``<stem>.random.json``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saswot.config import ArchSearchConfig
from saswot.datasets.proxy_batch import RANDOM, dataset_available, make_batch, proxy_sources
from saswot.errors import ScoreError, UnknownNameError
from saswot.proxies import resolve_proxy
from saswot.proxies._avt import AVTStats
from saswot.proxies._ensemble import is_ensemble, member_names, parse_ensemble
from saswot.proxies._settings import ScoringSettings
from saswot.runtime.device import check_device
from saswot.runtime.parallel import Executor
from saswot.runtime.progress import make_progress
from saswot.search.evolution import EvolutionConfig, evolve, random_search
from saswot.search.predictor import PredictorObjective, is_predictor_ref
from saswot.search.segmenter_scoring import ProxyScorer, calibrate_avt_for_space, calibrate_ensemble_for_space
from saswot.spaces.base import REGISTRY as SPACES
from saswot.spaces.base import SEGMENTER_SEARCH, SearchSpace, SegmenterSearch, get_space
from saswot.utils.io import checkpoint_path, sibling, write_json
from saswot.utils.plots import plot_search_curves


def run_arch_search(
    settings: ArchSearchConfig,
    out: str | Path,
    *,
    space: str | SearchSpace | None = None,
    resume: bool = False,
    random_baseline: bool = False,
    show_progress: bool = True,
    executor: Executor | None = None,
    on_note: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Search a segmenter with a zero-cost proxy under a budget; write the result document to ``out`` and return it.

    Args:
        settings: the search (see :class:`ArchSearchConfig`).
        out: result arch JSON; the checkpoint, AVT statistics and curve go beside it.
        space: a registered space name or space with ``segmenter-search`` (default: the one that has it).
        resume: continue from the checkpoint beside ``out`` (its settings must match).
        random_baseline: also run random search with the same number of evaluations.
        show_progress: progress bars on stderr.
        executor: where networks are scored (:mod:`saswot.runtime.parallel`); None: in this process.
        on_note: receives one-line notes (e.g. CamVid absent, unconstrained budget).

    Returns:
        The document written to ``out``: the best architecture's JSON plus ``"search"`` (score,
        cost, history, top candidates, timing, settings).
    """
    note = on_note or (lambda _text: None)
    s = settings
    t_start = time.perf_counter()
    s.check(proxy_sources())
    check_device(s.batch.device)
    source = s.batch.data
    if not dataset_available(s.batch.data, s.data_root):
        note(
            f"{s.batch.data} not found; using a random-input proxy batch (set {{data_root}} or SASWOT_DATA to use real images)"
        )
        source = RANDOM
    sp = get_space(space, SEGMENTER_SEARCH) if space is not None else SPACES.default(SEGMENTER_SEARCH)
    if not isinstance(sp, SegmenterSearch):
        raise UnknownNameError(f"space '{sp.name}' declares segmenter-search but has no segmenter_problem()")
    config = EvolutionConfig(iterations=s.generations, population=s.population, topk=s.topk)
    images, labels = make_batch(
        source, s.batch.batch_size, s.batch.resolution, s.batch.num_classes, s.batch.seed, s.data_root
    )
    # the batch and the weights use the search's seed; the proxies' own random draws use seed 0
    scoring = ScoringSettings(s.batch.replace(seed=0))
    out = Path(out)
    ensemble = parse_ensemble(s.proxy) if is_ensemble(s.proxy) else None
    calibrate_ensemble = ensemble is not None and ensemble.calibration is None
    # an ensemble without stored calibration is calibrated below on this space (<stem>.ensemble.json);
    # until then the problem scores with its first member (nothing is evaluated before that)
    first = member_names([ensemble])[0] if calibrate_ensemble and ensemble is not None else s.proxy
    # a predictor file (predictor:FILE or a shipped predictor:NAME) scores the architecture itself
    scorer: Any = (
        PredictorObjective(s.proxy, sp.name)
        if is_predictor_ref(s.proxy)
        else ProxyScorer(first, sp, images, labels, scoring, init_seed=s.batch.seed)
    )
    # an unreachable budget is rejected now, with the cheapest cost of the space, not after minutes of sampling
    problem = sp.segmenter_problem(s, scorer, executor=executor, on_note=note)
    lut = problem.lut
    if calibrate_ensemble and ensemble is not None:
        ens_path = sibling(out, ".ensemble.json")
        avt_members = [m for m in member_names([ensemble]) if resolve_proxy(m).needs_avt]
        if avt_members:
            raise ScoreError(
                f"{{proxy}} {s.proxy}: {', '.join(avt_members)} need AVT statistics and cannot be an ensemble member "
                "here; use their raw terms instead (saswot = saswot_minus and nwot: ensemble-avt:saswot_minus,nwot)"
            )
        if not (resume and ens_path.exists()):
            with make_progress(disable=not show_progress) as progress:
                task = progress.add_task("ensemble calibration", total=s.avt_samples, status="")
                calib = calibrate_ensemble_for_space(
                    problem,
                    scorer,
                    ensemble,
                    s.avt_samples,
                    s.batch.seed,
                    on_step=lambda: progress.advance(task),
                    executor=problem.executor,
                )
            calib.write(ens_path)
        scorer = ProxyScorer(f"{ensemble.name}@{ens_path}", sp, images, labels, scoring, init_seed=s.batch.seed)
        problem.scorer = scorer
    ckpt, avt_path = checkpoint_path(out), sibling(out, ".avt.json")
    meta = {
        "space": problem.describe(),
        "proxy": scorer.spec.cache_key,
        "seed": s.batch.seed,
        "proxy_resolution": list(s.batch.resolution),
        "batch_size": s.batch.batch_size,
        "data": source,
        "num_classes": s.batch.num_classes,
        "budget": {
            "max_latency_ms": s.max_latency_ms,
            "max_gmacs": s.max_gmacs,
            "target": list(s.target_resolution),
            "device": lut.tag if lut else None,
        },
    }
    meta = json.loads(json.dumps(meta))  # tuples -> lists, as read back from a checkpoint

    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(make_progress(disable=not show_progress))
        if scorer.spec.needs_avt:
            if resume and avt_path.exists():
                scorer.avt = AVTStats.read(avt_path)
            else:
                task = progress.add_task("AVT calibration", total=s.avt_samples, status="")
                scorer.avt = calibrate_avt_for_space(
                    problem,
                    scorer,
                    s.avt_samples,
                    s.batch.seed,
                    on_step=lambda: progress.advance(task),
                    executor=problem.executor,
                )
                scorer.avt.write(avt_path)
            meta["avt"] = scorer.avt.fingerprint()
        # The bar counts iterations (the initial population, then each generation): their number is
        # known in advance, while the evaluations per iteration are not (duplicates are skipped,
        # rejected candidates and stagnation resets draw more), so the total never moves.
        task = progress.add_task("evolution", total=s.generations + 1, status="")

        def on_iter(rec: Any) -> None:
            progress.update(
                task,
                completed=rec.iteration + 1,
                status=f"it {rec.iteration}, {rec.evaluations} evals, best {rec.best_fitness:.4g}",
            )

        result = evolve(
            problem,
            config,
            np.random.default_rng(s.batch.seed),
            checkpoint=ckpt,
            resume=resume,
            meta=meta,
            on_iteration=on_iter,
            on_evaluate=lambda n: progress.update(task, status=f"{n} evals"),
        )
        rand_result = None
        if random_baseline:
            rtask = progress.add_task("random search", total=result.evaluations, status="")
            rand_result = random_search(
                problem,
                result.evaluations,
                np.random.default_rng([s.batch.seed, 1]),
                on_evaluate=lambda n: progress.update(rtask, completed=n),
            )

    def summary(res: Any, how: str) -> tuple[Any, dict[str, Any]]:
        arch = problem.decode(res.best)
        c = problem.cost(arch)
        lat = problem.latency(arch) if lut is not None else None
        return arch, {
            "method": how,
            "proxy": scorer.name,
            "score": res.best_fitness,
            "params_m": c["params_m"],
            "gmacs": c["gmacs"],
            "latency_ms": lat,
            "latency_device": lut.tag if lut else None,
            "evaluations": res.evaluations,
            "rejected": res.rejected,
            "history": res.history_json(),
            "genome": res.best.to_json(),
            "top": [{"key": problem.key(g), "score": v} for g, v in res.top],
        }

    best_arch, info = summary(result, "evolution")
    info["config"] = {
        **meta,
        "evolution": asdict(config),
        "avt_samples": s.avt_samples if scorer.spec.needs_avt else None,
    }
    if scorer.avt is not None:
        info["avt"] = scorer.avt.to_json()
    curves = [("evolution", info["history"])]
    if rand_result is not None:
        r_arch, r_info = summary(rand_result, "random")
        r_info["config"] = info["config"]
        random_file = sibling(out, ".random.json")
        write_json(random_file, {**r_arch.to_json(), "name": f"{out.stem}-random", "search": r_info})
        info["random"] = {k: r_info[k] for k in ("score", "params_m", "gmacs", "latency_ms", "evaluations")}
        info["random"]["arch_file"] = str(random_file)
        curves.append(("random", r_info["history"]))
    info["wall_s"] = round(time.perf_counter() - t_start, 1)
    info["torch_threads"] = torch.get_num_threads()
    info["executor"] = executor.describe() if executor is not None else {"kind": "serial", "workers": 1}
    times = problem.eval_seconds
    info["timing"] = {
        "networks_scored": len(times),
        "mean_per_network_s": sum(times) / len(times) if times else None,
        "per_network_s": [round(t, 4) for t in times],
    }
    info["worker_failures"] = dict(problem.failures)
    # candidates the proxy raised an error on: rejected, with the reason (n/a)
    info["unavailable"] = dict(problem.unavailable)
    curve = plot_search_curves(
        curves,
        sibling(out, ".curve.png"),
        title=f"search with {scorer.name}",
        xlabel="evaluated architectures",
        ylabel="best proxy score",
    )
    info["curve"] = str(curve)
    doc = {**best_arch.to_json(), "name": out.stem, "search": info}
    write_json(out, doc)
    return doc


def summary_rows(doc: dict[str, Any]) -> list[list[Any]]:
    """Table rows (method, score, params, GMACs, latency, evaluations) of a result document."""
    info = doc["search"]
    rows = [
        [
            "evolution",
            info["score"],
            info["params_m"],
            info["gmacs"],
            "-" if info["latency_ms"] is None else info["latency_ms"],
            info["evaluations"],
        ]
    ]
    r = info.get("random")
    if r:
        rows.append(
            [
                "random",
                r["score"],
                r["params_m"],
                r["gmacs"],
                "-" if r["latency_ms"] is None else r["latency_ms"],
                r["evaluations"],
            ]
        )
    return rows
