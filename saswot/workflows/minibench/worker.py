"""The benchmark worker: claim the next unfinished job, train it epoch by epoch with
:func:`saswot.train.loop.fit` (resuming from its ``last.pt`` if a previous worker was interrupted),
append the result, release the claim."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from saswot import __version__
from saswot.datasets import DecodedCache, get_dataset_info
from saswot.errors import SaswotError, TrainingDivergedError
from saswot.runtime.threads import torch_threads
from saswot.spaces.fasterseg.benchfile import ENTRY_FORMAT, BenchFile, entry_id
from saswot.spaces.fasterseg.latency import LatencyTable
from saswot.train.checkpoint import (
    inference_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from saswot.train.loop import fit, git_sha
from saswot.utils.io import read_json, write_json
from saswot.workflows.minibench.claims import Claims
from saswot.workflows.minibench.jobfile import (
    Job,
    arch_costs,
)
from saswot.workflows.minibench.recipe import (
    Recipe,
)


# ----------------------------------------------------------------------------- worker
@dataclass(frozen=True)
class RunContext:
    """Where and how jobs run (not part of a result's identity).

    Attributes:
        work_dir: job folders (``jobs/<job_id>``) and claims (``claims/``).
        data_root: data root (``None``: ``$SASWOT_DATA`` or ``./data``).
        device: ``cpu`` / ``cuda``.
        threads: torch CPU threads of training and latency estimates (``None``: the caller's count);
            the caller's count is restored after each.
        workers: DataLoader workers.
        latency: estimate LUT latency at the dataset's native resolution on ``device``.
        lease_s: claim lease (seconds).
        command: the command line recorded in every entry.
        keep_checkpoints: keep ``last.pt``/``best.pt`` after a job finished (else only the
            fp16 inference checkpoint ``final.pt``).
        channels_last: train in channels-last memory format (same computation, faster on CPUs).
        curve_evals: evaluate every ``recipe.eval_every`` epochs for the learning curve; when
            False only after the last epoch (the benchmark value is that last evaluation either way).
    """

    work_dir: Path
    data_root: str | None = None
    device: str = "cpu"
    threads: int | None = 1
    workers: int = 0
    latency: bool = True
    lease_s: float = 1800.0
    command: str = ""
    keep_checkpoints: bool = False
    channels_last: bool = True
    curve_evals: bool = False


def _native_size(dataset: str) -> tuple[int, int]:
    return {"camvid": (360, 480), "cityscapes": (1024, 2048)}.get(dataset, (360, 480))


def _provenance(ctx: RunContext) -> dict[str, Any]:
    """Where and how an entry was made: code version and commit, torch, device, threads, host, time, command."""

    return {
        "version": __version__,
        "git_sha": git_sha(),
        "torch": torch.__version__,
        "device": ctx.device,
        "threads": ctx.threads,
        "channels_last": ctx.channels_last,
        "curve_evals": ctx.curve_evals,
        "host": socket.gethostname(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": ctx.command,
    }


def train_job(
    job: Job,
    recipe: Recipe,
    ctx: RunContext,
    *,
    heartbeat: Callable[[], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    cache: Any = None,
) -> dict[str, Any]:
    """Train ``job`` with ``recipe`` (resuming from its ``last.pt``) and return its benchmark entry.

    ``cache`` (a :class:`~saswot.datasets.DecodedCache`) keeps the decoded, resized images of the
    dataset across epochs and jobs of this process; results are the same with or without it.

    Training runs one epoch per :func:`~saswot.train.loop.fit` call so that ``heartbeat`` is
    called between epochs; data order and augmentation depend only on (seed, epoch, index), so
    an interrupted job resumed here ends with the same weights as an uninterrupted one.
    The final mIoU is the evaluation after the last epoch (the same confusion-matrix evaluation
    as ``saswot eval``, at label resolution), not the best epoch.
    """

    t0 = time.perf_counter()
    run_dir = Path(ctx.work_dir) / "jobs" / job.job_id(recipe)
    run_dir.mkdir(parents=True, exist_ok=True)
    arch_path = run_dir / "arch.json"

    write_json(arch_path, job.arch.to_json())
    info = get_dataset_info(recipe.dataset)
    # wall time and calls of earlier, interrupted calls on this job (kept after every epoch)
    wall_path = run_dir / "wall.json"
    earlier = read_json(wall_path, "job wall-time record") if wall_path.is_file() else {}
    wall_before, calls = float(earlier.get("wall_s", 0.0)), int(earlier.get("calls", 0)) + 1
    summary: dict[str, Any] = {}
    while True:
        cfg = recipe.train_config(
            str(arch_path),
            run_dir,
            job.seed,
            data_root=ctx.data_root,
            device=ctx.device,
            workers=ctx.workers,
            threads=ctx.threads,
        )
        cfg.resume = (run_dir / "last.pt").is_file()
        cfg.channels_last = ctx.channels_last
        if not ctx.curve_evals:
            cfg.eval_every = recipe.epochs
        summary = fit(cfg, progress=False, stop_after=1, cache=cache)
        write_json(wall_path, {"wall_s": wall_before + time.perf_counter() - t0, "calls": calls})
        if on_epoch is not None:
            on_epoch(summary)
        if heartbeat is not None:
            heartbeat()
        if summary["epochs_done"] >= recipe.epochs:
            break
    ckpt = load_checkpoint(run_dir / "last.pt")
    history = list(ckpt["history"])
    final = history[-1]
    if "val_miou" not in final:
        raise SaswotError(f"job {job.job_id(recipe)}: the last epoch has no evaluation")
    save_checkpoint(run_dir / "final.pt", inference_checkpoint(ckpt, fp16=True))
    costs = arch_costs(job.arch, info.num_classes, _native_size(recipe.dataset))
    latency_ms, latency_device = None, None
    if ctx.latency:
        with torch_threads(ctx.threads):  # the caller's torch thread count is back afterwards
            lut = LatencyTable(ctx.device if ctx.device != "auto" else "cpu")
            latency_ms = round(lut.estimate(job.arch, _native_size(recipe.dataset), info.num_classes).total_ms, 3)
        latency_device = lut.tag
    curve = [{k: v for k, v in h.items() if k != "val_per_class_iou"} for h in history]
    entry = {
        "format": ENTRY_FORMAT,
        "status": "ok",
        "key": job.key,
        "label": job.label,
        "seed": job.seed,
        "job_id": job.job_id(recipe),
        "arch": job.arch.to_json(),
        **{k: round(v, 6) for k, v in costs.items()},
        "latency_ms": latency_ms,
        "latency_device": latency_device,
        "latency_resolution": list(_native_size(recipe.dataset)),
        "dataset": recipe.dataset,
        "miou": final["val_miou"],
        "pixel_acc": final.get("val_pixel_acc"),
        "per_class_iou": final.get("val_per_class_iou"),
        "best_miou": ckpt.get("best_miou"),
        "best_epoch": ckpt.get("best_epoch"),
        "curve": curve,
        "recipe": recipe.to_json(),
        "recipe_id": recipe.recipe_id,
        "train_time_s": round(sum(float(h.get("time_s", 0.0)) for h in history), 1),
        "wall_s": round(wall_before + time.perf_counter() - t0, 1),
        "calls": calls,
        **_provenance(ctx),
    }
    return entry


def failure_entry(job: Job, recipe: Recipe, ctx: RunContext, error: Exception, wall_s: float) -> dict[str, Any]:
    """The benchmark entry of a job whose training diverged: ``status`` ``diverged``, ``miou`` None.

    Such an entry is final (the recipe is deterministic, a rerun would diverge again); readers
    leave it out of correlations and report how many there are.
    """

    run_dir = Path(ctx.work_dir) / "jobs" / job.job_id(recipe)
    metrics = run_dir / "metrics.jsonl"
    curve = []
    if metrics.is_file():
        curve = [
            {k: v for k, v in json.loads(line).items() if k != "val_per_class_iou"}
            for line in metrics.read_text().splitlines()
            if line.strip()
        ]
    info = get_dataset_info(recipe.dataset)
    costs = arch_costs(job.arch, info.num_classes, _native_size(recipe.dataset))
    return {
        "format": ENTRY_FORMAT,
        "status": "diverged",
        "error": str(error),
        "key": job.key,
        "label": job.label,
        "seed": job.seed,
        "job_id": job.job_id(recipe),
        "arch": job.arch.to_json(),
        **{k: round(v, 6) for k, v in costs.items()},
        "latency_ms": None,
        "latency_device": None,
        "dataset": recipe.dataset,
        "miou": None,
        "curve": curve,
        "recipe": recipe.to_json(),
        "recipe_id": recipe.recipe_id,
        "wall_s": round(wall_s, 1),
        **_provenance(ctx),
    }


def _cleanup(run_dir: Path) -> None:
    for name in ("last.pt", "best.pt"):
        with contextlib.suppress(FileNotFoundError):
            (run_dir / name).unlink()


@dataclass
class Progress:
    """Done/total over a job list and an ETA from the finished entries' training times."""

    done: int
    total: int
    mean_s: float | None
    workers: int

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the mean time per job, shared among the active workers."""
        if self.mean_s is None:
            return None
        return (self.total - self.done) * self.mean_s / max(self.workers, 1)

    def line(self) -> str:
        """``done/total, mean per job, ETA`` as one line."""
        eta = self.eta_s
        mean = "-" if self.mean_s is None else f"{self.mean_s / 60:.1f} min"
        eta_txt = "-" if eta is None else f"{eta / 3600:.1f} h" if eta >= 3600 else f"{eta / 60:.0f} min"
        return f"{self.done}/{self.total} done, {mean} per job, {self.workers} worker(s), ETA {eta_txt}"


def progress_of(
    jobs: Sequence[Job], recipe: Recipe, bench: BenchFile, claims: Claims | None = None, include_self: bool = True
) -> Progress:
    """Progress of ``jobs`` in ``bench`` (ETA uses the mean wall time of their finished entries)."""
    ids = {entry_id(j.key, recipe.recipe_id, j.seed) for j in jobs}
    times = [float(e["wall_s"]) for e in bench.entries() if entry_id(e["key"], e["recipe_id"], e["seed"]) in ids]
    active = claims.count_active([j.job_id(recipe) for j in jobs]) if claims is not None else 0
    return Progress(len(times), len(jobs), sum(times) / len(times) if times else None, active + int(include_self))


def claim_next(jobs: Sequence[Job], recipe: Recipe, bench: BenchFile, claims: Claims) -> Job | None:
    """Under the bench lock: the first job neither finished nor claimed by a live worker, now claimed."""
    with bench.locked():
        done = bench.done_ids()
        for job in jobs:
            if entry_id(job.key, recipe.recipe_id, job.seed) in done:
                continue
            if claims.active(job.job_id(recipe)) is not None:
                continue
            claims.take(job.job_id(recipe))
            return job
    return None


def run_worker(
    jobs: Sequence[Job],
    recipe: Recipe,
    bench: BenchFile,
    ctx: RunContext,
    *,
    max_jobs: int | None = None,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Train unfinished jobs one after another until none is left (or ``max_jobs`` are done).

    Several workers (processes, possibly on other hosts sharing the folder) may run this on the
    same bench file and work folder: each job is claimed before it is trained, and results are
    appended without duplicates. Returns the entries this worker appended.
    """
    say = log or (lambda _m: None)
    claims = Claims(Path(ctx.work_dir) / "claims", ctx.lease_s)
    claims.folder.mkdir(parents=True, exist_ok=True)
    written: list[dict[str, Any]] = []

    cache = DecodedCache()  # every job of this worker decodes each image once
    say(f"[minibench] {progress_of(jobs, recipe, bench, claims).line()}")
    while max_jobs is None or len(written) < max_jobs:
        job = claim_next(jobs, recipe, bench, claims)
        if job is None:
            break
        jid = job.job_id(recipe)
        say(f"[minibench] start {jid} ({job.key[:60]}...)")

        def beat(jid: str = jid) -> None:
            with bench.locked():
                claims.take(jid)

        def epoch_line(s: dict[str, Any], jid: str = jid) -> None:
            last = s.get("last") or {}
            miou = last.get("val_miou")
            loss = last.get("train_loss", float("nan"))
            say(
                f"[minibench] {jid} epoch {s['epochs_done']}/{recipe.epochs} loss {loss:.3f}"
                + (f" val mIoU {miou:.4f}" if miou is not None else "")
                + f" ({last.get('time_s', 0):.0f} s)"
            )

        t0 = time.perf_counter()
        try:
            try:
                entry = train_job(job, recipe, ctx, heartbeat=beat, on_epoch=epoch_line, cache=cache)
            except TrainingDivergedError as exc:
                entry = failure_entry(job, recipe, ctx, exc, time.perf_counter() - t0)
            if bench.append(entry):
                written.append(entry)
            if not ctx.keep_checkpoints:
                _cleanup(Path(ctx.work_dir) / "jobs" / jid)
        finally:
            with bench.locked():
                claims.release(jid)
        result = "diverged" if entry["miou"] is None else f"mIoU {entry['miou']:.4f}"
        say(
            f"[minibench] finished {jid}: {result} in {entry['wall_s'] / 60:.1f} min; "
            f"{progress_of(jobs, recipe, bench, claims).line()}"
        )
    return written
