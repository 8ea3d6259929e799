"""Inference speed: warm-up, synchronised per-run timing, median / p90 latency and FPS."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from saswot.errors import CorruptDataError, InvalidArchError, ResourceError


@dataclass(frozen=True)
class FpsResult:
    """Timing of ``runs`` forward passes (after ``warmup`` untimed ones)."""

    device: str
    precision: str
    resolution: tuple[int, int]
    batch_size: int
    warmup: int
    runs: int
    latency_ms_median: float
    latency_ms_p90: float
    latency_ms_mean: float
    latency_ms_min: float
    fps: float
    threads: int
    backend: str = "torch"

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def measure_fps(
    model: nn.Module,
    resolution: tuple[int, int],
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    batch_size: int = 1,
    warmup: int = 10,
    runs: int = 50,
    on_step: Callable[[], None] | None = None,
) -> FpsResult:
    """Time ``model`` on random input of size ``batch_size×3×H×W`` in eval mode.

    Each run is timed on its own between device synchronisations; FPS = batch_size × 1000 /
    median latency (ms). The model is moved to ``device`` (and cast for fp16). ``on_step`` is
    called after each warm-up and timed run (a progress bar; outside the timed interval).

    Raises:
        ResourceError: fp16 requested on a non-CUDA device.
    """
    device = torch.device(device)
    if precision not in ("fp32", "fp16"):
        raise ValueError(f"precision must be fp32 or fp16, got {precision}")
    if precision == "fp16" and device.type != "cuda":
        raise ResourceError("fp16 timing needs a CUDA device; use {precision} fp32 on the CPU.")
    dtype = torch.float16 if precision == "fp16" else torch.float32
    model = model.to(device=device, dtype=dtype).eval()
    x = torch.randn(batch_size, 3, *resolution, device=device, dtype=dtype)
    previous_benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = device.type == "cuda"
    try:
        times = _time_runs(lambda: model(x), lambda: _sync(device), warmup, runs, on_step)
    finally:
        torch.backends.cudnn.benchmark = previous_benchmark
    return _result(times, str(device), precision, resolution, batch_size, warmup, torch.get_num_threads(), "torch")


def measure_fps_onnx(
    path: str | Path,
    resolution: tuple[int, int],
    device: str = "cpu",
    warmup: int = 10,
    runs: int = 50,
    threads: int | None = None,
    on_step: Callable[[], None] | None = None,
) -> FpsResult:
    """Time an exported ONNX model (batch 1, fp32) with onnxruntime, by the rule of :func:`measure_fps`.

    Args:
        path: the ONNX file (``saswot export --onnx``: input ``image`` of 1×3×H×W).
        resolution: H×W of the input (the exported graph's).
        device: ``cpu`` (CPUExecutionProvider) or ``cuda`` (CUDAExecutionProvider).
        threads: onnxruntime's intra-op threads (default: torch's current count, i.e. ``--threads``).
        on_step: called after each warm-up and timed run (outside the timed interval).

    Raises:
        ResourceError: ``cuda`` asked for but onnxruntime has no CUDA provider here.
    """
    import onnxruntime as ort
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    providers = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
    kind = torch.device(device).type
    if kind not in providers:
        raise ResourceError(f"onnxruntime timing runs on cpu or cuda, not '{device}'")
    if providers[kind] not in ort.get_available_providers():
        raise ResourceError(
            f"this onnxruntime has no {providers[kind]} (it has {', '.join(ort.get_available_providers())}); "
            "install onnxruntime-gpu for CUDA timing, or use {backend} torch"
        )
    n_threads = int(threads if threads is not None else torch.get_num_threads())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = n_threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        sess = ort.InferenceSession(str(path), opts, providers=[providers[kind]])
    except (ort_state.Fail, ort_state.InvalidGraph, ort_state.InvalidProtobuf, ort_state.NoSuchFile) as exc:
        raise CorruptDataError(
            f"cannot load the ONNX file '{path}' ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
            "export it again with `saswot export CKPT --onnx FILE`"
        ) from None
    check_onnx_input(sess.get_inputs()[0].shape, resolution, path)
    feed = {sess.get_inputs()[0].name: np.random.default_rng(0).standard_normal((1, 3, *resolution), np.float32)}
    times = _time_runs(lambda: sess.run(None, feed), lambda: None, warmup, runs, on_step)
    return _result(times, kind, "fp32", resolution, 1, warmup, n_threads, "onnxruntime")


def check_onnx_input(shape: Sequence[Any], resolution: tuple[int, int], path: str | Path) -> None:
    """Check that an ONNX input of ``shape`` (ints, or names for dynamic axes) takes a 1x3xHxW batch at ``resolution``.

    Raises:
        InvalidArchError: the graph was exported at another resolution (the message names it and the fix).
    """
    dims = list(shape)
    fixed = [d if isinstance(d, int) else None for d in dims]
    if len(dims) != 4 or any(f is not None and f != want for f, want in zip(fixed, (1, 3, *resolution))):
        exported = "x".join(str(d) for d in dims[-2:]) if len(dims) == 4 else str(dims)
        raise InvalidArchError(
            f"'{path}' was exported at {exported} (input {dims}); time it with {{resolution}} {exported}, or export "
            f"it again at {resolution[0]}x{resolution[1]} (`saswot export CKPT --onnx FILE --resolution "
            f"{resolution[0]}x{resolution[1]}`)"
        )


def _time_runs(
    run_once: Callable[[], object],
    sync: Callable[[], None],
    warmup: int,
    runs: int,
    on_step: Callable[[], None] | None = None,
) -> list[float]:
    """Milliseconds of ``runs`` calls of ``run_once``, each timed between ``sync`` calls, after ``warmup``."""
    step = on_step if on_step is not None else (lambda: None)
    for _ in range(max(0, warmup)):
        run_once()
        step()
    sync()
    times = []
    for _ in range(max(1, runs)):
        sync()
        t0 = time.perf_counter()
        run_once()
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
        step()
    return sorted(times)


def _result(
    times: list[float],
    device: str,
    precision: str,
    resolution: tuple[int, int],
    batch_size: int,
    warmup: int,
    threads: int,
    backend: str,
) -> FpsResult:
    med = statistics.median(times)
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    return FpsResult(
        device=device,
        precision=precision,
        resolution=(int(resolution[0]), int(resolution[1])),
        batch_size=batch_size,
        warmup=warmup,
        runs=len(times),
        latency_ms_median=med,
        latency_ms_p90=p90,
        latency_ms_mean=statistics.fmean(times),
        latency_ms_min=times[0],
        fps=batch_size * 1000.0 / med,
        threads=threads,
        backend=backend,
    )
