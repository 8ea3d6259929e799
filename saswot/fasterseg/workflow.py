"""The training-free segmenter search of the FasterSeg space: :func:`run_arch_search`.

Builds the proxy batch and the scorer, rejects an unreachable budget up front, calibrates AVT
(for AVT-normalised proxies, on a seeded random sample of the same space), runs the evolution
(checkpointed after every iteration, resumable) and optionally the random-search baseline with
the same number of evaluations, and writes the result document, its curve and checkpoint::

    from saswot.search.segmenter import ArchSearchSettings, run_arch_search
    doc = run_arch_search(ArchSearchSettings(proxy="saswot", max_gmacs=27.8), "results/arch.json")
    doc["search"]["gmacs"], doc["search"]["score"]

Files beside ``out`` (one naming scheme, :func:`saswot.io.sibling`): ``<stem>.ckpt.json``
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

from saswot.io import checkpoint_path, sibling, write_json
from saswot.parallel import Executor
from saswot.search.segmenter import ArchSearchSettings


def run_arch_search(
    settings: ArchSearchSettings,
    out: str | Path,
    *,
    resume: bool = False,
    random_baseline: bool = False,
    show_progress: bool = True,
    executor: Executor | None = None,
    on_note: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Search a segmenter of the FasterSeg space with a zero-cost proxy; write and return the result.

    Args:
        settings: the search (see :class:`ArchSearchSettings`).
        out: result arch JSON; the checkpoint, AVT statistics and curve go beside it.
        resume: continue from the checkpoint beside ``out`` (its settings must match).
        random_baseline: also run random search with the same number of evaluations.
        show_progress: progress bars on stderr.
        executor: where networks are scored (:mod:`saswot.parallel`); None: in this process.
        on_note: receives one-line notes (e.g. CamVid absent, unconstrained budget).

    Returns:
        The document written to ``out``: the best architecture's JSON plus ``"search"`` (score,
        cost, history, top candidates, timing, settings).
    """
    from saswot.device import check_device
    from saswot.errors import ScoreError
    from saswot.fasterseg.decode import SpaceConfig
    from saswot.fasterseg.feasibility import check_budget
    from saswot.fasterseg.latency import LatencyTable
    from saswot.fasterseg.search import (
        Budget,
        FasterSegProblem,
        ProxyScorer,
        calibrate_avt_for_space,
        calibrate_ensemble_for_space,
    )
    from saswot.plots import plot_search_curves
    from saswot.predictor import PredictorObjective, is_predictor_ref
    from saswot.progress import make_progress
    from saswot.proxies import resolve_proxy
    from saswot.proxies.avt import AVTStats
    from saswot.proxies.ensemble import is_ensemble, member_names, parse_ensemble
    from saswot.proxies.settings import ScoringSettings
    from saswot.proxydata import RANDOM, dataset_available, make_batch
    from saswot.search import EvolutionConfig, evolve, random_search

    note = on_note or (lambda _text: None)
    s = settings
    t_start = time.perf_counter()
    s.check()
    check_device(s.device)
    source = s.data
    if not dataset_available(s.data, s.data_root):
        note(
            f"{s.data} not found; using a random-input proxy batch (set --data-root or SASWOT_DATA to use real images)"
        )
        source = RANDOM
    space = SpaceConfig(widths=s.widths or "fasterseg", min_shared=s.min_shared)
    config = EvolutionConfig(iterations=s.generations, population=s.population, topk=s.topk)
    images, labels = make_batch(source, s.batch_size, s.proxy_resolution, s.num_classes, s.seed, s.data_root)
    scoring = ScoringSettings(num_classes=s.num_classes, device=s.device)
    out = Path(out)
    ensemble = parse_ensemble(s.proxy) if is_ensemble(s.proxy) else None
    calibrate_ensemble = ensemble is not None and ensemble.calibration is None
    # an ensemble without stored calibration is calibrated below on this space (<stem>.ensemble.json);
    # until then the problem scores with its first member (nothing is evaluated before that)
    first = member_names([ensemble])[0] if calibrate_ensemble and ensemble is not None else s.proxy
    # a predictor file (predictor:FILE or a shipped predictor:NAME) scores the architecture itself
    scorer: Any = (
        PredictorObjective(s.proxy, "fasterseg")
        if is_predictor_ref(s.proxy)
        else ProxyScorer(first, images, labels, scoring, init_seed=s.seed)
    )
    lut = LatencyTable(s.device) if s.max_latency_ms is not None else None
    budget = Budget(max_latency_ms=s.max_latency_ms, max_gmacs=s.max_gmacs, target_resolution=s.target_resolution)
    problem = FasterSegProblem(space, scorer, budget, lut, s.num_classes)
    problem.executor = executor if executor is not None and executor.kind != "serial" else None
    # an unreachable budget is rejected now, with the cheapest cost of the space, not after minutes of sampling
    check_budget(problem, s.seed, on_note=note)
    if calibrate_ensemble and ensemble is not None:
        ens_path = sibling(out, ".ensemble.json")
        avt_members = [m for m in member_names([ensemble]) if resolve_proxy(m).needs_avt]
        if avt_members:
            raise ScoreError(
                f"--proxy {s.proxy}: {', '.join(avt_members)} need AVT statistics and cannot be an ensemble member "
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
                    s.seed,
                    on_step=lambda: progress.advance(task),
                    executor=problem.executor,
                )
            calib.write(ens_path)
        scorer = ProxyScorer(f"{ensemble.name}@{ens_path}", images, labels, scoring, init_seed=s.seed)
        problem.scorer = scorer
    ckpt, avt_path = checkpoint_path(out), sibling(out, ".avt.json")
    meta = {
        "space": {k: v for k, v in asdict(space).items() if not k.startswith("_")},
        "proxy": scorer.spec.cache_key,
        "seed": s.seed,
        "proxy_resolution": list(s.proxy_resolution),
        "batch_size": s.batch_size,
        "data": source,
        "num_classes": s.num_classes,
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
                    s.seed,
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
            np.random.default_rng(s.seed),
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
                np.random.default_rng([s.seed, 1]),
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
