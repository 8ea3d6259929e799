"""Training: one ``train_one_epoch``, plus :func:`fit` that runs epochs, evaluates, checkpoints.

Structure (STYLE.md §7): :func:`train_one_epoch` (SGD step loop, OHEM CE + aux heads + optional
distillation term), :func:`saswot.train.evaluate.evaluate` (confusion matrix over the whole
split), :func:`saswot.train.fps.measure_fps`. :func:`fit` saves ``config.json``, a checkpoint
every epoch (``last.pt``; ``best.pt`` when val mIoU improves) and ``metrics.jsonl``; with
``resume`` it continues from ``last.pt`` and reproduces the uninterrupted run (data order and
augmentation are functions of (seed, epoch, index)).
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from saswot import __version__
from saswot.datasets import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentConfig,
    DecodedCache,
    Resize,
    build_dataset,
    eval_transform,
    get_dataset_info,
    image_only_resize,
    train_transform,
)
from saswot.errors import CorruptDataError, TrainingDivergedError
from saswot.proxies._stats import main_output
from saswot.runtime.device import resolve_device
from saswot.runtime.progress import make_progress
from saswot.runtime.seeding import torch_generator, torch_seed
from saswot.runtime.threads import torch_threads
from saswot.train.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from saswot.train.evaluate import evaluate
from saswot.train.losses import LossConfig, SegmentationLoss
from saswot.train.models import ModelSpec, build_model, resolve_model
from saswot.utils.io import write_json, write_text


@dataclass
class TrainConfig:
    """Resolved configuration of one training run (saved as RUN_DIR/config.json).

    Attributes:
        model: ``fasterseg``, ``deeplabv3plus-r101``, ``tiny`` or an arch JSON path.
        dataset: ``camvid`` or ``cityscapes``.
        out: run directory.
        data_root: data root (``None``: ``$SASWOT_DATA`` or ``./data``).
        epochs: number of epochs.
        crop: training crop (H, W).
        base_size: resize every training image to this (H, W) before augmentation (``None``: native).
        eval_size: resize evaluation *inputs* to this (H, W); metrics stay at label resolution.
        scales: random scale factors.
        batch_size: batch size.
        lr: initial learning rate (``None``: dataset default, 0.01 CamVid / 0.015 Cityscapes).
        lr_final_ratio: the LR decays exponentially per epoch to ``lr × lr_final_ratio`` at the end.
        momentum, weight_decay: SGD settings.
        teacher: checkpoint of a distillation teacher (``None``: no distillation).
        device: ``auto``, ``cpu`` or ``cuda[:i]``.
        workers: DataLoader workers.
        seed: seed of weights, data order and augmentation.
        resume: continue from RUN_DIR/last.pt.
        eval_every: evaluate every this many epochs (and always after the last).
        amp: fp16 autocast + GradScaler on CUDA.
        max_batches: stop each epoch after this many batches (``None``: full epoch; for smoke runs).
        threads: torch CPU threads while :func:`fit` runs (``None``: the caller's count); the
            caller's count is restored on return.
        channels_last: keep weights and activations in channels-last memory format (the same
            computation; faster convolutions on CPUs and tensor cores, rounding may differ).
        loss: loss weights.
    """

    model: str
    dataset: str
    out: str
    data_root: str | None = None
    epochs: int = 80
    crop: tuple[int, int] = (512, 1024)
    base_size: tuple[int, int] | None = None
    eval_size: tuple[int, int] | None = None
    scales: tuple[float, ...] = (0.75, 1.0, 1.25)
    batch_size: int = 8
    lr: float | None = None
    lr_final_ratio: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    teacher: str | None = None
    device: str = "auto"
    workers: int = 2
    seed: int = 0
    resume: bool = False
    eval_every: int = 1
    amp: bool = True
    max_batches: int | None = None
    threads: int | None = None
    channels_last: bool = False
    loss: LossConfig = field(default_factory=LossConfig)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return json.loads(json.dumps(asdict(self)))


def git_sha() -> str | None:
    """The git commit of the source tree, if it is a git checkout with commits."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_fn: SegmentationLoss,
    device: torch.device,
    scaler: torch.amp.GradScaler | None = None,
    teacher: nn.Module | None = None,
    max_batches: int | None = None,
    progress: bool = True,
    description: str = "train",
    channels_last: bool = False,
) -> dict[str, float]:
    """One pass over ``loader`` with SGD steps; returns the mean of each loss part.

    The distillation term (if ``teacher`` is given) is part of ``loss_fn``; the teacher runs in
    eval mode without gradients.

    Raises:
        TrainingDivergedError: the loss became NaN/inf (lower the LR).
    """
    model.train()
    use_amp = scaler is not None and device.type == "cuda"
    sums: dict[str, float] = {}
    n = 0
    total = len(loader) if max_batches is None else min(len(loader), max_batches)
    with make_progress(disable=not progress) as bar:
        task = bar.add_task(description, total=total, status="")
        for i, (images, labels) in enumerate(loader):
            if i >= total:
                break
            images = images.to(device, non_blocking=True)
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            labels = labels.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                outputs = model(images)
                t_logits = None
                if teacher is not None:
                    with torch.no_grad():
                        t_logits = main_output(teacher(images)).float()
            loss, parts = loss_fn(outputs, labels, t_logits)
            if not math.isfinite(parts["loss"]):
                raise TrainingDivergedError(f"training diverged: the loss is {parts['loss']} at batch {i + 1}")
            optimizer.zero_grad(set_to_none=True)
            if use_amp and scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
            bar.update(task, advance=1, status=f"loss {parts['loss']:.3f}")
    return {k: v / max(n, 1) for k, v in sums.items()}


#: Largest absolute weight accepted after an epoch; beyond it training is taken to have diverged.
WEIGHT_LIMIT = 1e4


def check_weights(model: nn.Module, limit: float = WEIGHT_LIMIT) -> str | None:
    """None if every parameter is finite and within ``limit``, else what is wrong (first offender)."""
    for name, p in model.named_parameters():
        peak = float(p.detach().abs().max()) if p.numel() else 0.0
        if not math.isfinite(peak):
            return f"weight '{name}' is not finite"
        if peak > limit:
            return f"weight '{name}' reached |w| = {peak:.3g} (> {limit:g})"
    return None


def _diverged(reason: str, epoch: int, last_path: Path) -> TrainingDivergedError:
    """The error for a diverged epoch, saying which checkpoint is kept and what to change."""
    kept = (
        f"the last good checkpoint is kept at '{last_path}' (epoch {epoch})"
        if last_path.exists()
        else "no checkpoint had been written yet"
    )
    return TrainingDivergedError(
        f"{reason} in epoch {epoch + 1}; {kept}. Lower the learning rate ({{lr}}) or raise the batch size, then "
        "train again ({resume} continues from the kept checkpoint)."
    )


def _load_teacher(path: str, device: torch.device, num_classes: int) -> nn.Module:
    ckpt = load_checkpoint(path)
    if int(ckpt["model"]["num_classes"]) != num_classes:
        raise CorruptDataError(
            f"teacher '{path}' predicts {ckpt['model']['num_classes']} classes but the dataset has "
            f"{num_classes}; train the teacher on the same dataset."
        )
    teacher = model_from_checkpoint(ckpt).to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def _hw(size: Sequence[int]) -> tuple[int, int]:
    """A (H, W) tuple of a size given as any two-element sequence (e.g. a list read from JSON)."""
    return (int(size[0]), int(size[1]))


def _loaders(
    cfg: TrainConfig, epoch: int, device: torch.device, cache: DecodedCache | None = None
) -> tuple[DataLoader, DataLoader]:
    """The epoch's loaders. The fixed resizes (``base_size`` of training images, ``eval_size`` of
    evaluation inputs) run before the random augmentation, once per file when ``cache`` is given."""
    base = cfg.base_size and _hw(cfg.base_size)
    train_ds = build_dataset(
        cfg.dataset,
        "train",
        cfg.data_root,
        train_transform(AugmentConfig(_hw(cfg.crop), tuple(cfg.scales), None)),
        seed=cfg.seed,
        pre_transform=Resize(base) if base else None,
        pre_key=f"train-resize-{base}",
        cache=cache,
    )
    train_ds.set_epoch(epoch)
    size = cfg.eval_size and _hw(cfg.eval_size)
    val_ds = build_dataset(
        cfg.dataset,
        "val",
        cfg.data_root,
        eval_transform(),
        pre_transform=image_only_resize(size) if size else None,
        pre_key=f"eval-image-resize-{size}",
        cache=cache,
    )
    pin = device.type == "cuda"
    train_loader = DataLoader(
        train_ds,
        batch_size=cfg.batch_size,
        shuffle=True,
        drop_last=len(train_ds) >= cfg.batch_size,
        num_workers=cfg.workers,
        generator=torch_generator(cfg.seed * 7919 + epoch),
        pin_memory=pin,
    )
    val_loader = DataLoader(val_ds, batch_size=1, shuffle=False, num_workers=cfg.workers, pin_memory=pin)
    return train_loader, val_loader


def fit(
    cfg: TrainConfig, progress: bool = True, stop_after: int | None = None, cache: DecodedCache | None = None
) -> dict[str, Any]:
    """Train ``cfg.model`` on ``cfg.dataset``; write config, checkpoints and the metrics log.

    Args:
        cfg: the run configuration (``cfg.lr`` is filled in with the dataset default if unset).
        progress: show progress bars on stderr.
        stop_after: stop (as if interrupted) after this many epochs of this call; the run can
            be continued with ``cfg.resume=True``. On resume the LR schedule (gamma) of the
            original run is kept.
        cache: decoded, resized samples kept across epochs and calls (same batches, no decoding
            after the first use of a file; see :class:`~saswot.datasets.DecodedCache`).

    Returns:
        ``{"run_dir", "epochs_done", "best_miou", "best_epoch", "last": metrics of the last epoch}``.
    """
    with torch_threads(cfg.threads), _cudnn_autotune(resolve_device(cfg.device)):
        return _fit(cfg, progress, stop_after, cache)


@contextmanager
def _cudnn_autotune(device: torch.device) -> Iterator[None]:
    """On CUDA, let cuDNN time its kernels once per input shape (training crops have one shape);
    the caller's setting is back on exit."""
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = previous or device.type == "cuda"
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def _fit(cfg: TrainConfig, progress: bool, stop_after: int | None, cache: DecodedCache | None) -> dict[str, Any]:
    """The body of :func:`fit`, run with ``cfg.threads`` torch threads."""
    info = get_dataset_info(cfg.dataset)
    device = resolve_device(cfg.device)
    run_dir = Path(cfg.out)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    if cfg.lr is None:
        cfg.lr = info.default_lr

    spec: ModelSpec
    start_epoch, best_miou, best_epoch, history = 0, -1.0, -1, []
    resume_ckpt = None
    if cfg.resume:
        resume_ckpt = load_checkpoint(last_path)
        spec = ModelSpec.from_json(resume_ckpt["model"])
        start_epoch = int(resume_ckpt["epoch"])
        best_miou = float(resume_ckpt.get("best_miou", -1.0))
        best_epoch = int(resume_ckpt.get("best_epoch", -1))
        history = list(resume_ckpt.get("history", []))
    else:
        spec = resolve_model(cfg.model, info.num_classes)

    # check the data before building anything expensive
    _loaders(cfg, 0, device, cache)
    model = build_model(spec, aux_heads=True, seed=cfg.seed).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    gamma = cfg.lr_final_ratio ** (1.0 / max(cfg.epochs, 1))
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    scaler = torch.amp.GradScaler("cuda") if (cfg.amp and device.type == "cuda") else None
    if resume_ckpt is not None:
        model.load_state_dict(resume_ckpt["state_dict"])
        optimizer.load_state_dict(resume_ckpt["optimizer"])
        scheduler.load_state_dict(resume_ckpt["scheduler"])
        if scaler is not None and resume_ckpt.get("scaler"):
            scaler.load_state_dict(resume_ckpt["scaler"])
    teacher = _load_teacher(cfg.teacher, device, info.num_classes) if cfg.teacher else None
    loss_fn = SegmentationLoss(cfg.loss)

    normalization = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    meta = {
        "version": __version__,
        "git_sha": git_sha(),
        "model_spec": spec.to_json(),
        "gamma": gamma,
        "device_resolved": str(device),
        "torch": torch.__version__,
    }
    write_json(run_dir / "config.json", {**cfg.to_json(), **meta})

    last_metrics: dict[str, Any] = {}
    end_epoch = cfg.epochs if stop_after is None else min(cfg.epochs, start_epoch + stop_after)
    for epoch in range(start_epoch, end_epoch):
        t0 = time.perf_counter()
        train_loader, val_loader = _loaders(cfg, epoch, device, cache)
        lr = optimizer.param_groups[0]["lr"]
        with torch_seed(cfg.seed * 100_003 + epoch):  # dropout etc. stay reproducible per epoch
            try:
                parts = train_one_epoch(
                    model,
                    train_loader,
                    optimizer,
                    loss_fn,
                    device,
                    scaler,
                    teacher,
                    cfg.max_batches,
                    progress,
                    f"epoch {epoch + 1}/{cfg.epochs}",
                    cfg.channels_last,
                )
            except TrainingDivergedError as exc:
                raise _diverged(str(exc), epoch, last_path) from None
        problem = check_weights(model)
        if problem is not None:
            raise _diverged(f"training diverged: {problem}", epoch, last_path)
        scheduler.step()
        metrics: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, **{f"train_{k}": v for k, v in parts.items()}}
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
            res = evaluate(
                model,
                val_loader,
                info.num_classes,
                device,
                amp=cfg.amp,
                progress=progress,
                channels_last=cfg.channels_last,
            )
            metrics.update(
                {
                    "val_miou": res["miou"],
                    "val_pixel_acc": res["pixel_acc"],
                    "val_per_class_iou": dict(zip(info.class_names, res["per_class_iou"])),
                }
            )
        metrics["time_s"] = time.perf_counter() - t0
        history.append(metrics)
        ckpt: dict[str, Any] = {
            "model": spec.to_json(),
            "dataset": cfg.dataset,
            "class_names": list(info.class_names),
            "normalization": normalization,
            "eval_size": cfg.eval_size and list(cfg.eval_size),
            "state_dict": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler else None,
            "epoch": epoch + 1,
            "history": history,
            "config": cfg.to_json(),
            "version": __version__,
        }
        improved = "val_miou" in metrics and metrics["val_miou"] > best_miou
        if improved:
            best_miou, best_epoch = float(metrics["val_miou"]), epoch + 1
        ckpt["best_miou"], ckpt["best_epoch"] = best_miou, best_epoch
        if improved:
            save_checkpoint(best_path, ckpt)
        save_checkpoint(last_path, ckpt)
        write_text(run_dir / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in history))
        last_metrics = metrics
    return {
        "run_dir": str(run_dir),
        "epochs_done": len(history),
        "best_miou": best_miou,
        "best_epoch": best_epoch,
        "last": last_metrics,
    }
