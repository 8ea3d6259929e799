"""Where a minibench training's time goes, and the cached pipeline against the uncached one.

Part 1 (breakdown, one epoch of the recipe on one FasterSeg-space network):
  * data only: iterating the training loader (decode + resize + augmentation), uncached and cached;
  * forward/backward/SGD on the same batches held in memory;
  * evaluation: data only (uncached / cached) and the forward passes.
Part 2 (side by side, same seed): one whole minibench job as it ran before (uncached, contiguous
memory, curve evaluations) and as it runs now (cached, channels-last, one final evaluation); wall
time and final mIoU of each. With ``--before-src DIR`` the job is also trained by the code of
another checkout (e.g. ``git worktree add ../before 02804e3``), in a child process of the same run.

    SASWOT_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/bench_train_throughput.py \
        --out benchmarks/out/train-throughput.json

Writes the JSON beside a table on stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from saswot.datasets import DecodedCache
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.workflows.minibench import BenchFile, Job, RunContext, resolve_recipe, train_job
from saswot.utils.io import write_json
from saswot.train.checkpoint import load_checkpoint
from saswot.train.evaluate import evaluate
from saswot.train.loop import _loaders
from saswot.train.losses import SegmentationLoss
from saswot.train.models import build_model, resolve_model

BENCH = Path(__file__).resolve().parents[1] / "saswot/data/fasterseg/minibench-camvid.jsonl"


def _arch_file(label: str, folder: Path) -> Path:
    for e in BenchFile(BENCH).entries():
        if e["label"] == label:
            p = folder / f"{label}.json"
            p.write_text(json.dumps(e["arch"]))
            return p
    raise SystemExit(f"no architecture labelled {label} in {BENCH}")


def _time(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def breakdown(cfg, device: torch.device) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds of each part of one epoch."""
    cache = DecodedCache()
    res: dict[str, float] = {}
    train_loader, val_loader = _loaders(cfg, 0, device, None)
    res["train_data_uncached_s"], batches = _time(lambda: list(train_loader))
    train_loader, val_loader_c = _loaders(cfg, 0, device, cache)
    res["train_data_cache_fill_s"], _ = _time(lambda: list(train_loader))
    train_loader, _ = _loaders(cfg, 1, device, cache)
    res["train_data_cached_s"], _ = _time(lambda: list(train_loader))
    res["val_data_uncached_s"], _ = _time(lambda: list(val_loader))
    list(val_loader_c)
    res["val_data_cached_s"], val_batches = _time(lambda: list(val_loader_c))

    info_classes = 11
    model = build_model(resolve_model(cfg.model, info_classes), aux_heads=True, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = SegmentationLoss(cfg.loss)
    model.train()

    def train_compute() -> None:
        for images, labels in batches:
            loss, _ = loss_fn(model(images), labels, None)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    res["train_compute_s"], _ = _time(train_compute)
    res["eval_compute_s"], _ = _time(lambda: evaluate(model, val_batches, info_classes, device, progress=False))
    res["train_batches"] = float(len(batches))
    res["cache_mb"] = cache.nbytes / 2**20
    return res


BEFORE_CODE = r"""
import json, sys, time
from pathlib import Path
try:  # the package layout since the redesign
    from saswot.spaces.fasterseg.arch import FasterSegArch
    from saswot.workflows.minibench import Job, Recipe, RunContext, train_job
except ImportError:  # older checkouts
    from saswot.fasterseg.arch import FasterSegArch
    from saswot.fasterseg.minibench import Job, Recipe, RunContext, train_job
arch, recipe, folder, threads = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4])
job = Job("before-code", FasterSegArch.from_json(arch), 0)
t0 = time.perf_counter()
entry = train_job(job, Recipe.from_json(recipe), RunContext(Path(folder), threads=threads, latency=False))
import saswot
print(json.dumps({"before_code_s": time.perf_counter() - t0, "before_code_miou": entry["miou"],
                  "before_code_package": saswot.__file__}))
"""


def _before_code(label: str, recipe, folder: Path, threads: int, src: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The same job trained by the code of another checkout (``src``, e.g. a worktree of an older
    commit), in a child process of this run."""
    import os
    import subprocess

    arch = next(e["arch"] for e in BenchFile(BENCH).entries() if e["label"] == label)
    # PYTHONSAFEPATH: the child's working folder is not put before PYTHONPATH on its import path
    env = {**os.environ, "PYTHONPATH": src, "PYTHONSAFEPATH": "1", "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run(
        [sys.executable, "-c", BEFORE_CODE, json.dumps(arch), json.dumps(recipe.to_json()), str(folder / "before-code"),
         str(threads)],
        capture_output=True, text=True, env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the job trained by the code of {src} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"before (code of {src}): {res['before_code_s']:.1f} s, mIoU {res['before_code_miou']:.4f}", file=sys.stderr)
    return res


def side_by_side(label: str, recipe, folder: Path, threads: int, epochs: int | None,  # type: ignore[no-untyped-def]
                 before_src: str | None = None) -> dict[str, object]:
    """One minibench job (the whole recipe, or its first ``epochs``), as before and as now, in one process.

    Before: no decoded-sample cache, contiguous memory format, curve evaluations every
    ``recipe.eval_every`` epochs. Now: ``minibench run``'s defaults (cache shared by the worker's
    jobs, channels-last, one evaluation after the last epoch).
    """
    arch = next(e["arch"] for e in BenchFile(BENCH).entries() if e["label"] == label)
    job = Job(label, FasterSegArch.from_json(arch), 0)
    if epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=epochs)
    out: dict[str, object] = {"epochs": recipe.epochs}
    variants = {
        "before": (RunContext(folder / "before", threads=threads, latency=False, channels_last=False, curve_evals=True), None),
        "now": (RunContext(folder / "now", threads=threads, latency=False), DecodedCache()),
    }
    for name, (ctx, cache) in variants.items():
        t0 = time.perf_counter()
        entry = train_job(job, recipe, ctx, cache=cache)
        out[f"{name}_s"] = time.perf_counter() - t0
        out[f"{name}_miou"] = entry["miou"]
        print(f"{name}: {out[f'{name}_s']:.1f} s, mIoU {entry['miou']:.4f}", file=sys.stderr)
    if before_src is not None:
        out.update(_before_code(label, recipe, folder, threads, before_src))
        out["speedup_vs_before_code"] = float(out["before_code_s"]) / float(out["now_s"])  # type: ignore[arg-type]
    out["speedup"] = float(out["before_s"]) / float(out["now_s"])  # type: ignore[arg-type]
    out["miou_diff"] = abs(float(out["before_miou"]) - float(out["now_miou"]))  # type: ignore[arg-type]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="cpu-half-8ep")
    ap.add_argument("--arch", default="g0-016", help="label of a network of the shipped minibench file")
    ap.add_argument("--epochs", type=int, default=None, help="epochs of the side-by-side run (default: the recipe's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--before-src", default=None,
                    help="also train the job with the code of this checkout (e.g. a worktree of the commit before the "
                         "speed-ups), in a child process")
    ap.add_argument("--out", default="benchmarks/out/train-throughput.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    recipe = resolve_recipe(args.recipe)
    device = torch.device("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        arch = _arch_file(args.arch, folder)
        cfg = recipe.train_config(str(arch), folder / "run", 0, threads=args.threads)
        cfg.eval_every = 1
        t0 = time.perf_counter()
        parts = breakdown(cfg, device)
        print(f"breakdown done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        sbs = side_by_side(args.arch, recipe, folder, args.threads, args.epochs, args.before_src)
    doc = {
        "recipe": recipe.name,
        "recipe_id": recipe.recipe_id,
        "arch": args.arch,
        "threads": args.threads,
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "breakdown": parts,
        "side_by_side": sbs,
    }
    write_json(args.out, doc)
    print(f"{'part':<28}{'seconds':>10}")
    for k, v in parts.items():
        print(f"{k:<28}{v:>10.2f}")
    print(f"\nside by side, one minibench job of {sbs['epochs']} epochs (before: uncached, contiguous, curve evaluations):")
    for k, v in sbs.items():
        print(f"  {k:<24}{v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
