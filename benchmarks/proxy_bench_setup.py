"""Shared set-up of the proxy speed benchmarks (``bench_proxy_speed.py``, ``bench_proxy_floor.py``).

Both time the same thing against the same unit: seeded TransNAS-Bench-101 architectures, one
proxy batch (CamVid if present, else random), the packaged AVT statistics, and one plain
forward + backward (pixel-wise CE, train mode) as the unit of cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from saswot.spaces.tnb101.lookup import TNBBenchmark
from saswot.proxies._avt import AVTStats, packaged_spaces
from saswot.datasets.proxy_batch import camvid_available, make_batch
from saswot.runtime.seeding import make_rng
from saswot.proxies._stats import main_output, seg_loss
from saswot.spaces.tnb101.encoding import TNBArch


@dataclass
class ProxyBench:
    """What a proxy speed benchmark runs on."""

    archs: list[TNBArch]
    source: str
    images: Tensor
    labels: Tensor
    avt: AVTStats


def load_proxy_bench(
    space: str, n_archs: int, seed: int, batch_size: int, resolution: int, data_root: str | None
) -> ProxyBench:
    """``n_archs`` seeded architectures of ``space``, the proxy batch and the AVT statistics."""
    bench = TNBBenchmark.load(TNBBenchmark.default_path(space, data_root), space)
    archs = bench.sample(n_archs, make_rng(seed))
    source = "camvid" if camvid_available(data_root) else "random"
    images, labels = make_batch(source, batch_size, (resolution, resolution), 17, seed, data_root)
    # timing only: the AVT values do not change the cost; placeholder if none is packaged yet
    placeholder = AVTStats({"saswot_minus": (0.0, 1.0), "nwot": (0.0, 1.0)})
    avt = AVTStats.load(space) if space in packaged_spaces() else placeholder
    return ProxyBench(archs, source, images, labels, avt)


def forward_backward(model: nn.Module, images: Tensor, labels: Tensor) -> None:
    """One plain forward + backward: the unit the proxies' cost is measured in."""
    seg_loss(main_output(model(images)), labels).backward()


__all__ = ["ProxyBench", "forward_backward", "load_proxy_bench"]
