"""``minibench run --ray``: the benchmark's training jobs as Ray tasks, results written by the driver alone.

The driver (this process) claims each unfinished job in the benchmark file's claims folder (so
local workers of :func:`saswot.workflows.minibench.worker.run_worker` on the same file stay off it),
submits it as a Ray task that trains it with :func:`~saswot.workflows.minibench.worker.train_job` and
returns its entry, renews the claims of the jobs in flight while it waits, and appends each
entry as it arrives. Only the driver writes the benchmark file. A task reserves ``cpus`` Ray CPUs
(and trains with as many torch threads) and, on a GPU cluster, a ``gpus`` fraction of a GPU.

A job's folder (checkpoints, ``final.pt``) is written on the node that runs it, under the run
context's work folder: on a cluster, give a work folder on a shared file system to resume an
interrupted job from its last epoch and to find the ``final.pt`` files afterwards; without one,
an interrupted job starts again from epoch 0 on whichever node takes it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from saswot.datasets import DecodedCache
from saswot.errors import SaswotError, TrainingDivergedError
from saswot.runtime.parallel import LOCAL_RAY, import_ray
from saswot.spaces.fasterseg.benchfile import BenchFile
from saswot.workflows.minibench.claims import Claims
from saswot.workflows.minibench.jobfile import Job
from saswot.workflows.minibench.recipe import Recipe
from saswot.workflows.minibench.worker import RunContext, claim_next, failure_entry, progress_of, train_job


def _train_task(job: Job, recipe: Recipe, ctx: RunContext) -> dict[str, Any]:
    """Body of one Ray task: train ``job`` (or record its divergence) and return its entry."""
    if ctx.threads:
        torch.set_num_threads(int(ctx.threads))
    t0 = time.perf_counter()
    try:
        return train_job(job, recipe, ctx, cache=DecodedCache())
    except TrainingDivergedError as exc:
        return failure_entry(job, recipe, ctx, exc, time.perf_counter() - t0)


def run_ray(
    jobs: Sequence[Job],
    recipe: Recipe,
    bench: BenchFile,
    ctx: RunContext,
    *,
    address: str | None = None,
    cpus: int = 1,
    gpus: float = 0.0,
    num_cpus: int | None = None,
    max_jobs: int | None = None,
    log: Callable[[str], None] | None = None,
    poll_s: float = 30.0,
) -> list[dict[str, Any]]:
    """Train the unfinished ``jobs`` as Ray tasks and append their entries; returns the entries appended.

    Args:
        jobs: the job list (finished and claimed jobs are skipped).
        recipe: the training recipe.
        bench: the benchmark file (written by this process only).
        ctx: where and how jobs run (``ctx.threads`` is set to ``cpus``; ``device`` becomes ``cuda``
            when ``gpus`` > 0).
        address: a Ray cluster address, or None / ``"local"`` to start a local instance.
        cpus: Ray CPUs (and torch threads) per job.
        gpus: GPU fraction per job (0: CPU training).
        num_cpus: CPUs of a local instance (default: this machine's).
        max_jobs: stop submitting after this many jobs.
        log: progress lines.
        poll_s: how often claims of running jobs are renewed.

    Raises:
        SaswotError: bad resources, Ray missing, or the cluster unreachable.
    """
    if cpus < 1 or gpus < 0:
        raise SaswotError(f"cpus per job must be >= 1 and gpus >= 0 (got {cpus}, {gpus})")
    ray = import_ray()
    say = log or (lambda _m: None)
    ctx = dataclasses.replace(ctx, threads=cpus, device="cuda" if gpus > 0 else ctx.device)
    claims = Claims(Path(ctx.work_dir) / "claims", ctx.lease_s)
    claims.folder.mkdir(parents=True, exist_ok=True)
    owns = not ray.is_initialized()
    if owns:
        where = address or LOCAL_RAY
        try:
            if where == LOCAL_RAY:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=where, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SaswotError(
                f"cannot connect to the Ray cluster at '{where}' ({exc}); check the address, or give {{ray}} alone "
                "to start a local instance"
            ) from exc
    written: list[dict[str, Any]] = []
    pending: dict[Any, Job] = {}
    try:
        resources = ray.cluster_resources()
        slots = int(resources.get("CPU", 1)) // cpus
        if gpus > 0:
            slots = min(slots, int(resources.get("GPU", 0) / gpus))
        if slots < 1:
            raise SaswotError(
                f"the Ray cluster has {resources.get('CPU', 0)} CPUs and {resources.get('GPU', 0)} GPUs: not enough "
                f"for one job of {cpus} CPU(s) and {gpus} GPU(s)"
            )
        remote = ray.remote(_train_task).options(num_cpus=cpus, num_gpus=gpus, max_retries=1)
        say(f"[minibench] Ray: {slots} job(s) at once; {progress_of(jobs, recipe, bench, claims).line()}")
        submitted = 0
        while True:
            while len(pending) < slots and (max_jobs is None or submitted < max_jobs):
                job = claim_next(jobs, recipe, bench, claims)
                if job is None:
                    break
                pending[remote.remote(job, recipe, ctx)] = job
                submitted += 1
                say(f"[minibench] submitted {job.job_id(recipe)}")
            if not pending:
                break
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=poll_s)
            with bench.locked():
                for job in pending.values():
                    claims.take(job.job_id(recipe))  # a live driver keeps its running jobs
            for ref in ready:
                job = pending.pop(ref)
                try:
                    entry = ray.get(ref)
                finally:
                    with bench.locked():
                        claims.release(job.job_id(recipe))
                if bench.append(entry):
                    written.append(entry)
                result = "diverged" if entry.get("miou") is None else f"mIoU {entry['miou']:.4f}"
                say(
                    f"[minibench] finished {job.job_id(recipe)}: {result}; "
                    f"{progress_of(jobs, recipe, bench, claims).line()}"
                )
    finally:
        for ref, job in pending.items():
            try:
                ray.cancel(ref, force=True)
            except (ray.exceptions.RayError, ValueError, TypeError):
                pass  # best effort while stopping
            with bench.locked():
                claims.release(job.job_id(recipe))
        if owns and ray.is_initialized():
            ray.shutdown()
    return written
