"""CLI commands ``train``, ``eval``, ``fps`` and ``export`` for segmentation networks.

Thin layer: parse options, resolve config and data paths, call :mod:`saswot.train`, print a
table, write JSON.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any, Optional

import typer

from saswot.cli._options import parse_resolution
from saswot.errors import SaswotError
from saswot.runtime.progress import make_progress
from saswot.utils.io import write_json
from saswot.utils.tables import print_table


def parse_hw(text: str, option: str = "--resolution") -> tuple[int, int]:
    """Parse ``HxW`` (e.g. ``360x480``) into ``(H, W)``."""
    return parse_resolution(text, option)


def _opt_hw(text: Optional[str], option: str) -> Optional[tuple[int, int]]:
    return None if text is None else parse_hw(text, option)


def train_cmd(
    model: str = typer.Argument(..., help="fasterseg | deeplabv3plus-r101 | tiny | path to an arch JSON."),
    dataset: str = typer.Option(..., "--dataset", help="camvid | cityscapes"),
    out: Path = typer.Option(..., "--out", help="Run directory (config, checkpoints, metrics.jsonl)."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
    epochs: int = typer.Option(80, "--epochs", min=1, help="Training epochs."),
    crop: str = typer.Option("512x1024", "--crop", help="Training crop HxW."),
    base_size: Optional[str] = typer.Option(None, "--base-size", help="Resize training images to HxW first."),
    eval_size: Optional[str] = typer.Option(None, "--eval-size", help="Resize evaluation inputs to HxW."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Images per training batch."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Initial LR (default 0.01 CamVid, 0.015 Cityscapes)."),
    lr_final_ratio: float = typer.Option(0.01, "--lr-final-ratio", help="Exponential decay to lr×ratio at the end."),
    teacher: Optional[Path] = typer.Option(None, "--teacher", help="Teacher checkpoint for distillation."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:i]"),
    workers: int = typer.Option(2, "--workers", min=0, help="Data-loading worker processes (0: in the main process)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the initialisation, the data order and the augmentation."),
    resume: bool = typer.Option(False, "--resume", help="Continue from RUN_DIR/last.pt."),
    eval_every: int = typer.Option(1, "--eval-every", min=1, help="Evaluate on the val split every N epochs."),
    max_batches: Optional[int] = typer.Option(None, "--max-batches", help="Cap batches per epoch (smoke runs)."),
    no_amp: bool = typer.Option(False, "--no-amp", help="Disable mixed precision on CUDA."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Train a segmentation network (SGD, exponential LR, OHEM CE, aux heads, optional KD)."""
    from saswot.datasets import get_dataset_info
    from saswot.train.loop import TrainConfig, fit

    cfg = TrainConfig(
        model=model,
        dataset=dataset,
        out=str(out),
        data_root=str(data_root) if data_root else None,
        epochs=epochs,
        crop=parse_hw(crop, "--crop"),
        base_size=_opt_hw(base_size, "--base-size"),
        eval_size=_opt_hw(eval_size, "--eval-size"),
        batch_size=batch_size,
        lr=lr,
        lr_final_ratio=lr_final_ratio,
        teacher=str(teacher) if teacher else None,
        device=device,
        workers=workers,
        seed=seed,
        resume=resume,
        eval_every=eval_every,
        amp=not no_amp,
        max_batches=max_batches,
    )
    get_dataset_info(dataset)
    note = crop_note(dataset, cfg.crop)
    if note:
        typer.echo(f"note: {note}", err=True)
    summary = fit(cfg, progress=not quiet)
    write_json(out / "summary.json", summary)
    last = summary["last"]
    rows = [
        ["epochs done", summary["epochs_done"]],
        ["best val mIoU", summary["best_miou"]],
        ["best epoch", summary["best_epoch"]],
    ]
    if last:
        rows += [
            ["last train loss", last.get("train_loss", float("nan"))],
            ["last val mIoU", last.get("val_miou", float("nan"))],
        ]
    print_table(f"train {model} on {dataset} → {out}", ["item", "value"], rows)


#: Native image size (H, W) of the datasets with one size.
NATIVE_SIZES: dict[str, tuple[int, int]] = {"camvid": (360, 480), "cityscapes": (1024, 2048)}


def crop_note(dataset: str, crop: tuple[int, int]) -> str | None:
    """A note when the training crop is larger than the dataset's images (they are padded to it), else None."""
    native = NATIVE_SIZES.get(dataset)
    if native is None or (crop[0] <= native[0] and crop[1] <= native[1]):
        return None
    return (
        f"--crop {crop[0]}x{crop[1]} is larger than {dataset}'s {native[0]}x{native[1]} images: each training "
        f"image is padded (label ignored) up to the crop; --crop {min(crop[0], native[0])}x{min(crop[1], native[1])} "
        "trains on the images without padding"
    )


def eval_cmd(
    ckpt: Path = typer.Argument(..., help="Checkpoint written by 'saswot train'."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="camvid | cityscapes (default: the checkpoint's)."),
    split: str = typer.Option("val", "--split", help="val | test"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:i]"),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON result (default: beside the checkpoint)."),
    save_vis: Optional[Path] = typer.Option(None, "--save-vis", help="Write image|truth|prediction PNG strips here."),
    eval_size: Optional[str] = typer.Option(None, "--eval-size", help="Input HxW (default: the checkpoint's)."),
    workers: int = typer.Option(2, "--workers", min=0, help="Data-loading worker processes (0: in the main process)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Evaluate a checkpoint: mIoU from a confusion matrix over the whole split at full resolution."""
    from torch.utils.data import DataLoader

    from saswot.datasets import build_dataset, eval_transform, get_dataset_info
    from saswot.runtime.device import resolve_device
    from saswot.train.checkpoint import load_checkpoint, model_from_checkpoint
    from saswot.train.evaluate import evaluate

    ck = load_checkpoint(ckpt)
    name = dataset or ck["dataset"]
    info = get_dataset_info(name)
    if info.num_classes != int(ck["model"]["num_classes"]):
        raise SaswotError(
            f"checkpoint predicts {ck['model']['num_classes']} classes but {name} has {info.num_classes}; "
            f"evaluate it on the dataset it was trained on ({ck['dataset']})."
        )
    size = _opt_hw(eval_size, "--eval-size") or (tuple(ck["eval_size"]) if ck.get("eval_size") else None)
    norm = ck["normalization"]
    ds = build_dataset(name, split, data_root, eval_transform(norm["mean"], norm["std"], size))
    dev = resolve_device(device)
    model = model_from_checkpoint(ck).to(dev)
    loader = DataLoader(ds, batch_size=1, shuffle=False, num_workers=workers)
    res = evaluate(
        model,
        loader,
        info.num_classes,
        dev,
        amp=dev.type == "cuda",
        vis_dir=save_vis,
        palette=info.palette,
        normalization=norm,
        progress=not quiet,
    )
    result = {
        "checkpoint": str(ckpt),
        "dataset": name,
        "split": split,
        "eval_input_size": size and list(size),
        "miou": res["miou"],
        "per_class": dict(zip(info.class_names, res["per_class_iou"])),
        "pixel_acc": res["pixel_acc"],
        "mean_class_acc": res["mean_class_acc"],
        "num_images": res["num_images"],
        "confusion": res["confusion"],
    }
    out = out or ckpt.parent / f"eval_{name}_{split}.json"
    write_json(out, result)
    # percentages with two decimals, whatever the smallest value (one format for every evaluation)
    rows = [[c, f"{100 * v:.2f}"] for c, v in result["per_class"].items()]
    rows += [["mIoU", f"{100 * result['miou']:.2f}"], ["pixel acc", f"{100 * result['pixel_acc']:.2f}"]]
    print_table(f"{ckpt.name} on {name}/{split} ({res['num_images']} images) → {out}", ["class", "IoU (%)"], rows)


#: (warm-up, timed runs) of ``saswot fps`` per device type. On an H200 at batch 1, 10 + 50 gave
#: 132–245 FPS for the same network in six measurements and 100 + 300 gave 205–237 (docs/results.md,
#: section 4.8); on the CPU one pass at 1024×2048 takes seconds, so fewer runs suffice.
FPS_DEFAULTS: dict[str, tuple[int, int]] = {"cuda": (100, 300), "cpu": (10, 50)}


def fps_cmd(
    model: str = typer.Argument(
        ..., help="fasterseg | deeplabv3plus-r101 | tiny | arch JSON | checkpoint .pt | exported .onnx"
    ),
    resolution: str = typer.Option(..., "--resolution", help="Input HxW, e.g. 720x960."),
    device: str = typer.Option("cpu", "--device", help="cuda | cpu"),
    backend: Optional[str] = typer.Option(
        None,
        "--backend",
        help="torch (eager PyTorch) | onnxruntime (the model exported to ONNX at --resolution, verified, then "
        "timed with onnxruntime, batch 1, fp32); default: onnxruntime for an .onnx file, else torch",
    ),
    precision: str = typer.Option("fp32", "--precision", help="fp32 | fp16 (CUDA only)"),
    batch_size: int = typer.Option(1, "--batch-size", min=1, help="Images per timed forward pass."),
    num_classes: int = typer.Option(19, "--num-classes", help="Classes for a model given by name."),
    warmup: Optional[int] = typer.Option(
        None,
        "--warmup",
        min=0,
        help=f"Untimed forward passes first (default: {FPS_DEFAULTS['cuda'][0]} on CUDA, "
        f"{FPS_DEFAULTS['cpu'][0]} on the CPU).",
    ),
    runs: Optional[int] = typer.Option(
        None,
        "--runs",
        min=1,
        help=f"Timed forward passes (default: {FPS_DEFAULTS['cuda'][1]} on CUDA, {FPS_DEFAULTS['cpu'][1]} on the CPU).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON result instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON result here."),
) -> None:
    """Measure inference speed: warm-up, synchronised timing, median/p90 latency and FPS."""
    from saswot.runtime.device import resolve_device
    from saswot.train.checkpoint import load_checkpoint, model_from_checkpoint
    from saswot.train.export import export_onnx
    from saswot.train.fps import measure_fps, measure_fps_onnx
    from saswot.train.models import build_model, resolve_model

    if precision not in ("fp32", "fp16"):
        raise SaswotError(f"--precision must be fp32 or fp16, got '{precision}'.")
    backend = backend or ("onnxruntime" if model.endswith(".onnx") else "torch")
    if backend not in ("torch", "onnxruntime"):
        raise SaswotError(f"--backend must be torch or onnxruntime, got '{backend}'.")
    if backend == "onnxruntime" and (precision != "fp32" or batch_size != 1):
        raise SaswotError("--backend onnxruntime times the exported graph as it is: batch 1, fp32.")
    if model.endswith(".onnx") and backend != "onnxruntime":
        raise SaswotError(f"{model} is an ONNX file: time it with --backend onnxruntime.")
    hw = parse_hw(resolution)
    dev = resolve_device(device)
    default_warmup, default_runs = FPS_DEFAULTS["cuda" if dev.type == "cuda" else "cpu"]
    warmup = default_warmup if warmup is None else warmup
    runs = default_runs if runs is None else runs

    # progress on stderr (warm-up and timed runs, outside the timed intervals), shown from the first
    # run on: a file that cannot be timed is refused before any bar appears
    shown: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:

        def step() -> None:
            if not shown:
                shown["bar"] = stack.enter_context(make_progress(disable=quiet or as_json))
                shown["task"] = shown["bar"].add_task(
                    f"fps {hw[0]}x{hw[1]}", total=max(0, warmup) + max(1, runs), status=""
                )
            shown["bar"].advance(shown["task"])

        if model.endswith(".onnx"):
            res = measure_fps_onnx(model, hw, str(dev), warmup, runs, on_step=step)
        else:
            if model.endswith(".pt"):
                net = model_from_checkpoint(load_checkpoint(model))
            else:
                net = build_model(resolve_model(model, num_classes), aux_heads=False, seed=0)
            if backend == "onnxruntime":
                with tempfile.TemporaryDirectory(prefix="saswot-fps-") as tmp:
                    onnx_path = Path(tmp) / "model.onnx"
                    export_onnx(net, onnx_path, hw)  # verified against PyTorch before it is timed
                    res = measure_fps_onnx(onnx_path, hw, str(dev), warmup, runs, on_step=step)
            else:
                res = measure_fps(net, hw, dev, precision, batch_size, warmup, runs, on_step=step)
    payload = {"model": model, **res.to_json()}
    if out is not None:
        write_json(out, payload)
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    rows = [
        ["FPS", res.fps],
        ["latency median (ms)", res.latency_ms_median],
        ["latency p90 (ms)", res.latency_ms_p90],
        ["latency mean (ms)", res.latency_ms_mean],
        ["runs", res.runs],
        ["threads", res.threads],
    ]
    print_table(
        f"{model} @ {hw[0]}x{hw[1]}, {res.backend} on {res.device}, {res.precision}, batch {res.batch_size}",
        ["metric", "value"],
        rows,
    )


def export_cmd(
    ckpt: Path = typer.Argument(..., help="Checkpoint written by 'saswot train'."),
    onnx: Optional[Path] = typer.Option(None, "--onnx", help="Write a verified ONNX model here."),
    resolution: Optional[str] = typer.Option(None, "--resolution", help="Export HxW (default: dataset's native)."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset version."),
    atol: float = typer.Option(
        1e-3, "--atol", help="Absolute part of the ONNX check: |onnx - torch| <= atol + rtol x |torch| for every logit."
    ),
    rtol: float = typer.Option(1e-3, "--rtol", help="Relative part of the ONNX check (see --atol)."),
    pt: Optional[Path] = typer.Option(None, "--pt", help="Write a slim inference checkpoint here."),
    fp16: bool = typer.Option(False, "--fp16", help="Store the slim checkpoint's weights as float16."),
) -> None:
    """Export a checkpoint to ONNX (verified with onnxruntime) and/or a slim inference checkpoint."""
    from saswot.train.checkpoint import inference_checkpoint, load_checkpoint, model_from_checkpoint, save_checkpoint
    from saswot.train.export import export_onnx

    if onnx is None and pt is None:
        raise SaswotError("nothing to do: give --onnx OUT.onnx and/or --pt OUT.pt.")
    ck = load_checkpoint(ckpt)
    rows = []
    if pt is not None:
        save_checkpoint(pt, inference_checkpoint(ck, fp16=fp16))
        rows.append(["checkpoint", str(pt), f"{pt.stat().st_size / 1e6:.2f} MB"])
    if onnx is not None:
        native = NATIVE_SIZES.get(ck.get("dataset", ""), (512, 1024))
        hw = parse_hw(resolution or f"{native[0]}x{native[1]}")
        report = export_onnx(model_from_checkpoint(ck), onnx, hw, opset=opset, atol=atol, rtol=rtol)
        write_json(onnx.with_name(onnx.name + ".json"), {"checkpoint": str(ckpt), **report})
        rows.append(
            [
                "onnx",
                str(onnx),
                f"passed: every logit within atol {atol:g} + rtol {rtol:g} x |logit| (at most "
                f"{100 * report['max_tolerance_used']:.0f} % of that bound used; max abs diff "
                f"{report['max_abs_diff']:.2e}); {100 * report['pixel_agreement']:.2f} % pixels agree",
            ]
        )
    print_table(f"export {ckpt}", ["kind", "path", "check"], rows)


def register(app: typer.Typer) -> None:
    """Add ``train``, ``eval``, ``fps`` and ``export`` to ``app``."""
    app.command(name="train")(train_cmd)
    app.command(name="eval")(eval_cmd)
    app.command(name="fps")(fps_cmd)
    app.command(name="export")(export_cmd)
