"""Inference speed: warm-up, synchronised per-run timing, median / p90 latency and FPS."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from saswot.errors import ResourceError


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
) -> FpsResult:
    """Time ``model`` on random input of size ``batch_size×3×H×W`` in eval mode.

    Each run is timed on its own between device synchronisations; FPS = batch_size × 1000 /
    median latency (ms). The model is moved to ``device`` (and cast for fp16).

    Raises:
        ResourceError: fp16 requested on a non-CUDA device.
    """
    device = torch.device(device)
    if precision not in ("fp32", "fp16"):
        raise ValueError(f"precision must be fp32 or fp16, got {precision}")
    if precision == "fp16" and device.type != "cuda":
        raise ResourceError("fp16 timing needs a CUDA device; use --precision fp32 on the CPU.")
    dtype = torch.float16 if precision == "fp16" else torch.float32
    model = model.to(device=device, dtype=dtype).eval()
    x = torch.randn(batch_size, 3, *resolution, device=device, dtype=dtype)
    previous_benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = device.type == "cuda"
    try:
        for _ in range(max(0, warmup)):
            model(x)
        _sync(device)
        times = []
        for _ in range(max(1, runs)):
            _sync(device)
            t0 = time.perf_counter()
            model(x)
            _sync(device)
            times.append((time.perf_counter() - t0) * 1000.0)
    finally:
        torch.backends.cudnn.benchmark = previous_benchmark
    times.sort()
    med = statistics.median(times)
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    return FpsResult(
        device=str(device),
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
        threads=torch.get_num_threads(),
    )
