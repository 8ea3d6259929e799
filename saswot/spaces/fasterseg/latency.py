"""Latency lookup table (LUT) measured on the current device, and end-to-end timing.

The LUT maps a component key (:attr:`saswot.spaces.fasterseg.cost.Component.key`: operator, input
size, channels, stride) to its measured latency in ms, timed in isolation at batch 1 in eval
mode under ``torch.inference_mode``. Entries are measured lazily, the first time a network needs
them, and cached on disk in a JSON file per device and thread count, so later searches reuse
them. A network's estimate is the sum over :func:`saswot.spaces.fasterseg.cost.components` — stem,
cells (a shared cell once), aggregation ConvNorms, FFM and head — as in FasterSeg;
interpolations and concatenations outside the zoomed operators are not costed, which is part of
the LUT-vs-measured gap we report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from saswot.runtime.device import check_device
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.cost import Component, components
from saswot.utils.io import read_json, write_json
from saswot.utils.paths import cache_root

LUT_VERSION = 1


def device_tag(device: str) -> str:
    """Identity of the timing device used in cache file names."""
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device)).replace(" ", "-")
        return f"cuda-{name}"
    return f"cpu-{torch.get_num_threads()}t"


def cache_dir() -> Path:
    """The cache root (:func:`saswot.utils.paths.cache_root`), where the latency tables live."""
    return cache_root()


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))


def time_forward(
    module: nn.Module,
    x: torch.Tensor,
    device: str = "cpu",
    warmup: int = 2,
    min_reps: int = 3,
    max_reps: int = 30,
    target_s: float = 0.3,
) -> float:
    """Latency (ms) of ``module(x)``: eval mode, inference mode, batch as given.

    Runs ``warmup`` calls, then at least ``min_reps`` timed calls and more until about
    ``target_s`` seconds were spent (at most ``max_reps``), and returns the **minimum** — the
    least-disturbed run. On a shared machine the median mostly measures the other processes;
    the minimum is the reproducible figure (LUT entries and end-to-end timings use the same rule,
    so their gap is meaningful).
    """
    module = module.to(device).eval()
    x = x.to(device)
    times: list[float] = []
    with torch.inference_mode():
        for _ in range(warmup):
            module(x)
        _sync(device)
        spent = 0.0
        while len(times) < min_reps or (spent < target_s and len(times) < max_reps):
            t0 = time.perf_counter()
            module(x)
            _sync(device)
            dt = time.perf_counter() - t0
            times.append(dt * 1e3)
            spent += dt
    return float(min(times))


@dataclass(frozen=True)
class LatencyBreakdown:
    """LUT latency estimate of one network (ms)."""

    total_ms: float
    stem_ms: float
    cells_ms: float
    head_ms: float
    n_components: int


class LatencyTable:
    """Lazily measured, disk-cached latency lookup table for one device and resolution.

    Args:
        device: ``cpu`` or ``cuda``.
        path: JSON cache file (default: :func:`default_path`).
        warmup, min_reps, max_reps, target_s: timing settings of each new entry.
    """

    def __init__(
        self,
        device: str = "cpu",
        path: str | Path | None = None,
        *,
        warmup: int = 2,
        min_reps: int = 3,
        max_reps: int = 30,
        target_s: float = 0.3,
    ) -> None:
        self.device = check_device(device)
        self.tag = device_tag(self.device)
        self.path = Path(path) if path is not None else cache_dir() / f"fasterseg-lut-{self.tag}.json"
        self.timing: dict[str, Any] = {
            "warmup": warmup,
            "min_reps": min_reps,
            "max_reps": max_reps,
            "target_s": target_s,
        }
        self.entries: dict[str, float] = {}
        self.measured_now = 0
        if self.path.exists():
            data = read_json(self.path, "latency lookup table", "Delete it to re-measure.")
            if isinstance(data, dict) and data.get("version") == LUT_VERSION and data.get("device") == self.tag:
                self.entries = {str(k): float(v) for k, v in data.get("entries", {}).items()}

    def lookup(self, comp: Component) -> float:
        """Latency (ms) of one component, measured now if not in the table."""
        key = comp.key
        if key not in self.entries:
            x = torch.randn(1, comp.c_in, *comp.in_hw)
            self.entries[key] = time_forward(comp.module(), x, self.device, **self.timing)
            self.measured_now += 1
        return self.entries[key]

    def save(self) -> Path:
        """Write the table (atomic)."""
        meta: dict[str, Any] = {
            "version": LUT_VERSION,
            "device": self.tag,
            "torch": torch.__version__,
            "unit": "ms",
            "batch": 1,
            "timing": self.timing,
        }
        return write_json(self.path, {**meta, "entries": dict(sorted(self.entries.items()))})

    def estimate(
        self,
        arch: FasterSegArch,
        resolution: tuple[int, int],
        num_classes: int = 19,
        save: bool = True,
        on_component: Callable[[int, int], None] | None = None,
    ) -> LatencyBreakdown:
        """LUT estimate of ``arch`` at ``resolution`` (measures missing entries; saves if new).

        ``on_component(done, total)`` is called after each component (for a progress bar).
        """
        before = self.measured_now
        parts = {"stem": 0.0, "cells": 0.0, "head": 0.0}
        comps = components(arch, resolution, num_classes)
        for i, comp in enumerate(comps):
            parts[comp.part] += self.lookup(comp)
            if on_component is not None:
                on_component(i + 1, len(comps))
        if save and self.measured_now > before:
            self.save()
        return LatencyBreakdown(sum(parts.values()), parts["stem"], parts["cells"], parts["head"], len(comps))


def measure_latency(model: nn.Module, resolution: tuple[int, int], device: str = "cpu", **timing: Any) -> float:
    """End-to-end latency (ms) of ``model`` on one 1×3×H×W input (see :func:`time_forward`)."""
    x = torch.randn(1, 3, int(resolution[0]), int(resolution[1]))
    return time_forward(model, x, check_device(device), **timing)
