"""A small trained ground truth for the FasterSeg space: sample, train, evaluate, append.

The pieces, each usable on its own:

* :class:`Recipe` – one fixed, short training recipe (a :class:`~saswot.train.loop.TrainConfig`
  template without model, output folder or seed) and its identity hash.
* :func:`sample_archs` – K legal architectures under a GMACs budget, seeded, stratified over
  GMACs (equal-count strata of a larger budget-feasible pool, one architecture drawn from each).
* :class:`BenchFile` – a JSON-lines result file shared by several processes: every read-modify
  step holds an ``fcntl`` lock on the file itself; an entry is appended only if no entry with
  the same (architecture, recipe, seed) is already there, so nothing is lost or duplicated.
  Claims (``<work>/claims/<job>.json``, written under the same lock) keep two workers off one
  job; a claim whose owner stops renewing it expires after ``lease_s``.
* :func:`run_worker` – the loop: claim the next unfinished job, train it epoch by epoch with
  :func:`saswot.train.loop.fit` (resuming from its ``last.pt`` if a previous worker was
  interrupted), append the result, release the claim.
* :func:`load_bench`, :func:`score_bench_archs`, :func:`bench_correlations` – read finished
  entries back and correlate proxy scores with the trained mIoU.
* :func:`summarize_by_label`, :func:`noise_summary` – per-method rows (Table 4) and the
  seed-versus-architecture spread of a noise study.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from saswot.errors import CorruptDataError, SaswotError, TrainingDivergedError
from saswot.fasterseg.arch import FasterSegArch
from saswot.fasterseg.decode import SpaceConfig, decode, legality_errors
from saswot.fasterseg.genome import sample_genome

#: Format tag of every line of a benchmark file.
ENTRY_FORMAT = "saswot-minibench/1"
#: The budget of ``saswot search-arch`` used throughout (the released FasterSeg student's cost).
DEFAULT_MAX_GMACS = 27.8
DEFAULT_TARGET = (1024, 2048)
#: Classes used for the budget's GMACs (the ``search-arch`` default).
BUDGET_CLASSES = 19


# ----------------------------------------------------------------------------- recipe
@dataclass(frozen=True)
class Recipe:
    """A fixed training recipe for one FasterSeg-space network (everything but arch and seed).

    Attributes:
        name: short label.
        dataset: ``camvid`` or ``cityscapes``.
        epochs: training epochs.
        base_size: training images are resized to this (H, W) first (``None``: native).
        crop: random crop (H, W) after random scaling.
        scales: random scale factors.
        eval_size: evaluation inputs resized to this (H, W); the metric is at label resolution.
        batch_size: batch size.
        lr: initial learning rate (SGD, momentum 0.9, weight decay 5e-4).
        lr_final_ratio: exponential decay to ``lr × ratio`` after the last epoch.
        eval_every: evaluate every this many epochs (and after the last one).
        amp: mixed precision on CUDA.
        max_batches: cap on batches per epoch (``None``: full epoch; for tests only).
        teacher: distillation teacher checkpoint (``None``: none; left out of the identity hash).
    """

    name: str = "cpu-half-8ep"
    dataset: str = "camvid"
    epochs: int = 8
    base_size: tuple[int, int] | None = (180, 240)
    crop: tuple[int, int] = (144, 192)
    scales: tuple[float, ...] = (0.75, 1.0, 1.25)
    eval_size: tuple[int, int] | None = (180, 240)
    batch_size: int = 8
    lr: float = 0.03
    lr_final_ratio: float = 0.1
    eval_every: int = 2
    amp: bool = True
    max_batches: int | None = None
    teacher: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Recipe:
        """Inverse of :meth:`to_json`; an optional ``recipe_id`` must match (unknown keys raise CorruptDataError)."""
        kw = dict(d)
        stated = kw.pop("recipe_id", None)
        known = set(cls.__dataclass_fields__)
        extra = set(kw) - known
        if extra:
            raise CorruptDataError(f"recipe has unknown fields {sorted(extra)}; known: {sorted(known)}")
        for k in ("base_size", "crop", "eval_size"):
            if kw.get(k) is not None:
                kw[k] = tuple(int(v) for v in kw[k])
        if "scales" in kw:
            kw["scales"] = tuple(float(v) for v in kw["scales"])
        recipe = cls(**kw)
        if stated is not None and stated != recipe.recipe_id:
            raise CorruptDataError(f"recipe file states recipe_id {stated} but its fields hash to {recipe.recipe_id}")
        return recipe

    @property
    def recipe_id(self) -> str:
        """Short hash of every field but ``name`` (the identity entries are matched on)."""
        d = self.to_json()
        d.pop("name")
        if d.get("teacher") is None:
            d.pop("teacher", None)  # recipes without a teacher keep the identity they had before the field
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def train_config(
        self,
        model: str,
        out: str | Path,
        seed: int,
        *,
        data_root: str | None = None,
        device: str = "cpu",
        workers: int = 0,
        threads: int | None = 1,
    ) -> Any:
        """The :class:`~saswot.train.loop.TrainConfig` of one run of this recipe."""
        from saswot.train.loop import TrainConfig

        return TrainConfig(
            model=model,
            dataset=self.dataset,
            out=str(out),
            data_root=data_root,
            epochs=self.epochs,
            crop=self.crop,
            base_size=self.base_size,
            eval_size=self.eval_size,
            scales=self.scales,
            batch_size=self.batch_size,
            lr=self.lr,
            lr_final_ratio=self.lr_final_ratio,
            device=device,
            workers=workers,
            seed=seed,
            eval_every=self.eval_every,
            amp=self.amp,
            max_batches=self.max_batches,
            threads=threads,
            teacher=self.teacher,
        )


#: Named recipes (``--recipe NAME``; a recipe JSON file is accepted as well).
RECIPES: dict[str, Recipe] = {
    "cpu-half-8ep": Recipe(),
    # the longer, larger-crop variant tried when the seeds of cpu-half-8ep spread as much as the archs
    "cpu-half-12ep-full": Recipe(
        name="cpu-half-12ep-full", epochs=12, crop=(180, 240), lr_final_ratio=0.01, eval_every=3
    ),
    # the fidelity check of cpu-half-8ep: twice the epochs on whole 180x240 images (1.56x the
    # pixels of a 144x192 crop), about 3.1x the training compute, same schedule shape
    "cpu-half-16ep-full": Recipe(name="cpu-half-16ep-full", epochs=16, crop=(180, 240), eval_every=4),
    "tiny-test": Recipe(
        name="tiny-test",
        epochs=1,
        base_size=None,
        crop=(64, 64),
        scales=(1.0,),
        eval_size=None,
        batch_size=2,
        lr=0.01,
        eval_every=1,
    ),
}


def resolve_recipe(name_or_path: str) -> Recipe:
    """A named recipe or a recipe JSON file."""
    if name_or_path in RECIPES:
        return RECIPES[name_or_path]
    p = Path(name_or_path)
    if not p.is_file():
        raise SaswotError(f"unknown recipe '{name_or_path}': use one of {', '.join(RECIPES)} or a recipe JSON file")
    from saswot.io import read_json

    return Recipe.from_json(read_json(p, "recipe file"))


# ----------------------------------------------------------------------------- sampling
def sample_archs(
    k: int,
    seed: int,
    *,
    max_gmacs: float | None = DEFAULT_MAX_GMACS,
    target: tuple[int, int] = DEFAULT_TARGET,
    space: SpaceConfig | None = None,
    pool_factor: int = 8,
    max_draws: int = 500_000,
) -> list[FasterSegArch]:
    """K distinct legal architectures under the budget, stratified over GMACs.

    A pool of ``k × pool_factor`` distinct legal, budget-feasible architectures is drawn from
    random genomes (generator seeded with ``seed``), sorted by GMACs (at ``target``, 19 classes,
    as the ``search-arch`` budget) and cut into ``k`` equal-count strata; one architecture is
    drawn from each stratum. The result is sorted by GMACs, smallest first.

    Raises:
        SaswotError: ``k < 1``, or the budget admits too few architectures within ``max_draws``.
    """
    from saswot.fasterseg.cost import arch_cost  # builds modules on the meta device: torch

    if k < 1 or pool_factor < 1:
        raise SaswotError(f"k and pool_factor must be at least 1 (got {k}, {pool_factor})")
    space = space or SpaceConfig()
    rng = np.random.default_rng(seed)
    pool: dict[str, tuple[float, FasterSegArch]] = {}
    want = k * pool_factor
    for _ in range(max_draws):
        if len(pool) >= want:
            break
        arch = decode(sample_genome(rng, with_ratio=space.searches_widths), space)
        if legality_errors(arch, space.min_shared):
            continue
        g = arch_cost(arch, target, BUDGET_CLASSES).gmacs
        if max_gmacs is not None and g > max_gmacs:
            continue
        pool.setdefault(arch.key(), (g, arch))
    if len(pool) < k:
        raise SaswotError(
            f"only {len(pool)} distinct architectures under {max_gmacs} GMACs in {max_draws} draws; "
            "raise --max-gmacs or lower K"
        )
    items = sorted(pool.values(), key=lambda t: (t[0], t[1].key()))
    strata = np.array_split(np.arange(len(items)), k)
    chosen = [items[int(rng.choice(s))] for s in strata]
    return [a for _, a in sorted(chosen, key=lambda t: (t[0], t[1].key()))]


def arch_costs(
    arch: FasterSegArch, num_classes: int = 11, resolution: tuple[int, int] = (360, 480)
) -> dict[str, float]:
    """Params (M) and GMACs of ``arch`` at the budget's frame and at the training dataset's frame."""
    from saswot.fasterseg.cost import arch_cost  # builds modules on the meta device: torch

    budget = arch_cost(arch, DEFAULT_TARGET, BUDGET_CLASSES)
    local = arch_cost(arch, resolution, num_classes)
    return {
        "params_m": budget.params_m,
        "gmacs": budget.gmacs,
        f"params_m_{num_classes}cls": local.params_m,
        f"gmacs_{resolution[0]}x{resolution[1]}": local.gmacs,
    }


# ----------------------------------------------------------------------------- jobs
def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", text).strip("_") or "arch"


@dataclass(frozen=True)
class Job:
    """One training run: an architecture, a label for it and a training seed."""

    label: str
    arch: FasterSegArch = field(compare=False)
    seed: int = 0

    @property
    def key(self) -> str:
        """Canonical key of the architecture."""
        return self.arch.key()

    def job_id(self, recipe: Recipe) -> str:
        """Folder/claim name: label, seed and a hash of (arch key, recipe id, seed)."""
        h = hashlib.sha256(f"{self.key}|{recipe.recipe_id}|{self.seed}".encode()).hexdigest()[:10]
        return f"{_safe(self.label)[:60]}-s{self.seed}-{h}"


#: Separates the labels of one architecture that was given under several labels.
LABEL_SEP = "+"


def make_jobs(archs: Sequence[tuple[str, FasterSegArch]], seeds: Sequence[int]) -> list[Job]:
    """Jobs for every (label, arch) × seed, seed-major (all archs with the first seed first).

    An architecture given under several labels (e.g. two searches that found the same network)
    is trained once per seed, labelled ``label1+label2`` (:func:`summarize_by_label` reports it
    under each label).

    Raises:
        SaswotError: no architecture or no seed, or a label containing ``+``.
    """
    if not archs or not seeds:
        raise SaswotError("nothing to train: give at least one architecture and one seed")
    merged: dict[str, tuple[list[str], FasterSegArch]] = {}
    for label, arch in archs:
        if LABEL_SEP in label:
            raise SaswotError(f"label '{label}' may not contain '{LABEL_SEP}'")
        merged.setdefault(arch.key(), ([], arch))[0].append(label)
    return [Job(LABEL_SEP.join(labels), arch, int(s)) for s in seeds for labels, arch in merged.values()]


def spread_order(n: int) -> list[int]:
    """0..n-1 in van der Corput order (0, n/2, n/4, 3n/4, ...): every prefix spans the whole range."""
    order: list[int] = []
    seen: set[int] = set()
    j = 0
    while len(order) < n:
        v, f, m = 0.0, 0.5, j
        while m:
            v += f * (m & 1)
            m >>= 1
            f /= 2
        i = min(n - 1, int(v * n))
        if i not in seen:
            seen.add(i)
            order.append(i)
        j += 1
        if j > 64 * n:  # cannot happen for n >= 1; guards the loop
            order += [i for i in range(n) if i not in seen]
    return order


def sampled_jobs(
    k: int,
    sample_seed: int,
    seeds: Sequence[int],
    *,
    max_gmacs: float | None = DEFAULT_MAX_GMACS,
    space: SpaceConfig | None = None,
    pool_factor: int = 8,
) -> list[Job]:
    """Jobs of :func:`sample_archs`, labelled ``g<sample_seed>-<GMACs rank>``.

    They are ordered by :func:`spread_order` over the GMACs ranks, so that a partly finished
    benchmark already covers small and large networks.
    """
    archs = sample_archs(k, sample_seed, max_gmacs=max_gmacs, space=space, pool_factor=pool_factor)
    return make_jobs([(f"g{sample_seed}-{i:03d}", archs[i]) for i in spread_order(len(archs))], seeds)


def entry_id(key: str, recipe_id: str, seed: int) -> tuple[str, str, int]:
    """Identity of a benchmark entry."""
    return (key, recipe_id, int(seed))


# ----------------------------------------------------------------------------- bench file
class BenchFile:
    """A JSON-lines benchmark file shared by processes (``fcntl`` lock on the file itself).

    Every line is one finished run (see :func:`train_job` for the fields). Appends happen under
    an exclusive lock, after checking that the (key, recipe_id, seed) is not already present.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive lock of the file (created empty if missing)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        """All entries (a missing file is empty; a truncated last line, left by a killed writer, is skipped).

        Raises:
            CorruptDataError: a complete line is not a JSON object of this format.
        """
        if not self.path.exists():
            return []
        text = self.path.read_text()
        lines = text.split("\n")
        out = []
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            last_unterminated = i == len(lines) and not text.endswith("\n")
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                if last_unterminated:
                    continue
                raise CorruptDataError(f"{self.path}:{i}: not a JSON line ({exc}); remove or fix that line") from exc
            if not isinstance(d, dict) or d.get("format") != ENTRY_FORMAT:
                raise CorruptDataError(f"{self.path}:{i}: not a {ENTRY_FORMAT} entry; is this a minibench file?")
            out.append(d)
        return out

    def done_ids(self) -> set[tuple[str, str, int]]:
        """Identities of the finished entries."""
        return {entry_id(e["key"], e["recipe_id"], e["seed"]) for e in self.entries()}

    def append(self, entry: dict[str, Any]) -> bool:
        """Append ``entry`` unless an entry with its identity exists; True if written."""
        line = json.dumps(entry, sort_keys=True, allow_nan=False) + "\n"
        with self.locked():
            if entry_id(entry["key"], entry["recipe_id"], entry["seed"]) in self.done_ids():
                return False
            self._write_line(line)
        return True

    def _write_line(self, line: str) -> None:
        data = self.path.read_bytes() if self.path.exists() else b""
        if data and not data.endswith(b"\n"):
            # a killed writer left a partial last line: drop it rather than glue an entry onto it
            os.truncate(self.path, data.rfind(b"\n") + 1)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


# ----------------------------------------------------------------------------- claims
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Claims:
    """Claim files ``<folder>/<job_id>.json``; read and written under the bench file's lock.

    Attributes:
        folder: where claims live.
        lease_s: a claim not renewed for this long is considered abandoned.
        owner: this worker's identity (``host:pid``).
    """

    folder: Path
    lease_s: float = 1800.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def _path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def active(self, job_id: str, now: float | None = None) -> dict[str, Any] | None:
        """The live claim of another worker on ``job_id``, or None."""
        p = self._path(job_id)
        try:
            d = json.loads(p.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if d.get("owner") == self.owner:
            return None
        now = time.time() if now is None else now
        if now - float(d.get("heartbeat", 0)) > self.lease_s:
            return None
        host, _, pid = str(d.get("owner", "")).rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
            return None
        return d

    def take(self, job_id: str) -> None:
        """Write (or renew) this worker's claim on ``job_id``."""
        from saswot.io import write_json

        p = self._path(job_id)
        started = time.time()
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            old = json.loads(p.read_text())
            if old.get("owner") == self.owner:
                started = float(old.get("started", started))
        write_json(p, {"owner": self.owner, "started": started, "heartbeat": time.time()})

    def release(self, job_id: str) -> None:
        """Remove this worker's claim (if it is still ours)."""
        p = self._path(job_id)
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            if json.loads(p.read_text()).get("owner") == self.owner:
                p.unlink()

    def count_active(self, job_ids: Sequence[str]) -> int:
        """Number of jobs in ``job_ids`` with a live claim of another worker."""
        return sum(self.active(j) is not None for j in job_ids)


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
    import torch

    from saswot import __version__
    from saswot.train.loop import git_sha

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

    from saswot.datasets import get_dataset_info
    from saswot.train.checkpoint import (
        inference_checkpoint,
        load_checkpoint,
        save_checkpoint,
    )
    from saswot.train.loop import fit

    t0 = time.perf_counter()
    run_dir = Path(ctx.work_dir) / "jobs" / job.job_id(recipe)
    run_dir.mkdir(parents=True, exist_ok=True)
    arch_path = run_dir / "arch.json"
    from saswot.io import read_json, write_json

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
        from saswot.fasterseg.latency import LatencyTable
        from saswot.threads import torch_threads

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

    from saswot.datasets import get_dataset_info

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
    from saswot.datasets import DecodedCache

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


# ----------------------------------------------------------------------------- reading back
def load_bench(path: str | Path | Sequence[str | Path], recipe_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Finished entries grouped by architecture key: ``{key: {"arch", "miou" (mean over seeds), "seeds", ...}}``.

    Args:
        path: benchmark file, or several files pooled (e.g. two samples trained with one recipe).
        recipe_id: keep only entries of this recipe (``None``: the files must hold one recipe).

    Raises:
        DataNotFoundError: no such file.
        CorruptDataError: the files mix recipes and none was chosen.
    """
    from saswot.errors import DataNotFoundError

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    entries: list[dict[str, Any]] = []
    for p in paths:
        bf = BenchFile(p)
        if not bf.path.is_file():
            raise DataNotFoundError(f"benchmark file not found at '{p}'; create it with `saswot minibench run`")
        entries += bf.entries()
    ids = sorted({e["recipe_id"] for e in entries})
    if recipe_id is None and len(ids) > 1:
        raise CorruptDataError(f"the benchmark holds several recipes ({', '.join(ids)}); choose one with --recipe-id")
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        if (recipe_id is not None and e["recipe_id"] != recipe_id) or e.get("miou") is None:
            continue  # another recipe, or a diverged run (counted by `minibench status`)
        g = out.setdefault(
            e["key"],
            {
                "arch": e["arch"],
                "label": e["label"],
                "mious": [],
                "seeds": [],
                "params_m": e["params_m"],
                "gmacs": e["gmacs"],
                "latency_ms": e.get("latency_ms"),
            },
        )
        g["mious"].append(float(e["miou"]))
        g["seeds"].append(int(e["seed"]))
    for g in out.values():
        g["miou"] = float(np.mean(g["mious"]))
    return out


@dataclass(frozen=True)
class ProxySettings:
    """How the proxies are scored on the benchmark's architectures (``search-arch``'s defaults).

    Attributes:
        num_classes: classes of the networks built for scoring.
        resolution: proxy batch (H, W).
        batch_size: proxy batch size.
        seed: weights, batch and AVT-calibration seed.
        data: ``camvid`` or ``random``.
        avt_samples: random legal architectures for AVT calibration (AVT proxies only).
        device: ``cpu`` / ``cuda``.
    """

    num_classes: int = 19
    resolution: tuple[int, int] = (256, 512)
    batch_size: int = 2
    seed: int = 0
    data: str = "camvid"
    avt_samples: int = 20
    device: str = "cpu"

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return json.loads(json.dumps(asdict(self)))


def score_bench_archs(
    archs: Sequence[FasterSegArch],
    proxies: Sequence[Any],
    settings: ProxySettings,
    *,
    data_root: str | None = None,
    progress: bool = True,
    failed: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Score every architecture with every proxy exactly as ``search-arch`` scores candidates.

    ``failed``, when given, receives ``{proxy: {arch key: reason}}`` of the scores that failed
    (a reason starting with ``n/a:``: the proxy raised an error on that network).

    Proxies without AVT share one statistics pass per network; each AVT proxy is calibrated on
    ``settings.avt_samples`` seeded random legal architectures of the space (as ``search-arch``
    does) and scored in its own pass.

    Returns:
        ``({proxy: [score per arch]}, {proxy: AVT statistics JSON})``; failures are
        :data:`saswot.proxies.SENTINEL`.
    """
    from saswot.fasterseg.builder import build_network
    from saswot.fasterseg.search import (
        FasterSegProblem,
        ProxyScorer,
        calibrate_avt_for_space,
    )
    from saswot.proxies import resolve_proxies
    from saswot.proxies.settings import ScoringSettings
    from saswot.proxydata import make_batch
    from saswot.rank import ScoreSettings, score_architectures

    specs = resolve_proxies(list(proxies))
    images, labels = make_batch(
        settings.data, settings.batch_size, settings.resolution, settings.num_classes, settings.seed, data_root
    )
    rs = ScoreSettings(
        space="fasterseg",
        batch_size=settings.batch_size,
        resolution=settings.resolution,
        data=settings.data,
        seed=settings.seed,
        num_classes=settings.num_classes,
        device=settings.device,
    )

    def build(a: FasterSegArch) -> Any:
        return build_network(a, settings.num_classes, seed=settings.seed)

    def run(group: list[Any], avt: Any, what: str) -> dict[str, list[float]]:
        per = score_architectures(
            list(archs),
            group,
            rs,
            build,
            key=lambda a: a.key(),
            avt=avt,
            batch=(images, labels),
            progress=progress,
            description=what,
        )
        if failed is not None:
            for a in archs:
                for name, reason in per[a.key()].failed.items():
                    failed.setdefault(name, {})[a.key()] = reason
        return {s.name: [per[a.key()].scores[s.name] for a in archs] for s in group}

    out: dict[str, list[float]] = {}
    avts: dict[str, Any] = {}
    plain = [s for s in specs if not s.needs_avt]
    if plain:
        out.update(run(plain, None, "proxies"))
    for spec in (s for s in specs if s.needs_avt):
        scorer = ProxyScorer(
            spec,
            images,
            labels,
            ScoringSettings(num_classes=settings.num_classes, device=settings.device),
            init_seed=settings.seed,
        )
        problem = FasterSegProblem(SpaceConfig(), scorer, num_classes=settings.num_classes)
        avt = calibrate_avt_for_space(problem, scorer, settings.avt_samples, settings.seed)
        avts[spec.name] = avt.to_json()
        out.update(run([spec], avt, spec.name))
    return {s.name: out[s.name] for s in specs}, avts


def bench_correlations(scores: dict[str, list[float]], truth: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Kendall / Spearman / Pearson of each proxy against ``truth`` over the architectures it scored.

    Architectures where a proxy failed (sentinel or non-finite) are left out of that proxy's
    correlation and counted in ``failed``.
    """
    from saswot.correlation import correlations
    from saswot.proxies import SENTINEL

    y = np.asarray(truth, dtype=np.float64)
    out: dict[str, dict[str, Any]] = {}
    for name, vals in scores.items():
        x = np.asarray(vals, dtype=np.float64)
        ok = np.isfinite(x) & (x != SENTINEL)
        res: dict[str, Any] = {"n": int(ok.sum()), "failed": int((~ok).sum())}
        if ok.sum() >= 2:
            res.update(correlations(x[ok], y[ok]))
        else:
            res.update({"kendall": float("nan"), "spearman": float("nan"), "pearson": float("nan")})
        out[name] = res
    return out


def summarize_by_label(entries: Sequence[dict[str, Any]], recipe_id: str | None = None) -> list[dict[str, Any]]:
    """One row per label (e.g. per search method): mIoU mean, spread (max − min) and std over seeds.

    Rows keep the first-seen order of labels; params, GMACs and latency are the architecture's.
    An entry labelled ``a+b`` (one architecture found under two labels) counts for ``a`` and ``b``.
    """
    rows: dict[str, dict[str, Any]] = {}
    for e in entries:
        if (recipe_id is not None and e["recipe_id"] != recipe_id) or e.get("miou") is None:
            continue
        for label in str(e["label"]).split(LABEL_SEP):
            r = rows.setdefault(
                label,
                {
                    "label": label,
                    "key": e["key"],
                    "mious": [],
                    "seeds": [],
                    "params_m": e["params_m"],
                    "gmacs": e["gmacs"],
                    "latency_ms": e.get("latency_ms"),
                    "train_wall_s": [],
                },
            )
            if r["key"] != e["key"]:
                raise CorruptDataError(f"label '{label}' names two architectures; labels must be unique per file")
            r["mious"].append(float(e["miou"]))
            r["seeds"].append(int(e["seed"]))
            r["train_wall_s"].append(float(e["wall_s"]))
    for r in rows.values():
        m = np.asarray(r["mious"])
        r.update(miou_mean=float(m.mean()), miou_spread=float(m.max() - m.min()), miou_std=float(m.std()))
    return list(rows.values())


def noise_summary(rows: Sequence[dict[str, Any]]) -> dict[str, float] | None:
    """Seed-to-seed spread against the spread across architectures (rows of :func:`summarize_by_label`).

    Returns ``None`` unless at least two architectures have at least two seeds each. Keys:
    ``seed_spread_mean`` / ``seed_spread_max`` (max − min over an architecture's seeds),
    ``arch_range`` (max − min of the architectures' mean mIoU), ``seed_sd`` (pooled within-arch
    standard deviation, ddof 1), ``arch_sd`` (standard deviation of the means, ddof 1) and
    ``between_fraction`` (share of the variance of single runs explained by the architecture,
    one-way random-effects estimate, clipped to [0, 1]).
    """
    multi = [r for r in rows if len(r["mious"]) >= 2]
    if len(multi) < 2:
        return None
    spreads = [r["miou_spread"] for r in multi]
    means = np.asarray([r["miou_mean"] for r in multi])
    within = [np.var(r["mious"], ddof=1) for r in multi]
    seed_var = float(np.mean(within))
    n_per = float(np.mean([len(r["mious"]) for r in multi]))
    between = max(0.0, float(np.var(means, ddof=1)) - seed_var / n_per)
    return {
        "archs": len(multi),
        "seed_spread_mean": float(np.mean(spreads)),
        "seed_spread_max": float(np.max(spreads)),
        "arch_range": float(means.max() - means.min()),
        "seed_sd": float(np.sqrt(seed_var)),
        "arch_sd": float(np.std(means, ddof=1)),
        "between_fraction": between / (between + seed_var) if between + seed_var > 0 else float("nan"),
    }
