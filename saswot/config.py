"""The settings of saswot's runs: one frozen dataclass per concept, nothing restated.

* :class:`ProxyBatch` – what a proxy score depends on besides the network: the proxy batch
  (source, size, resolution, seed), the classes and ignored label, the bound on stored
  activations and the device. Every run that scores networks holds one.
* :class:`RankConfig` – one ``saswot rank`` run; :class:`AVTConfig` – one ``saswot avt-calibrate``
  run; :class:`ArchSearchConfig` – one segmenter search (``saswot search-arch``; the spaces read it
  through :class:`saswot.spaces.base.SegmenterSearch`).

The command line builds these from its options (:func:`saswot.cli._options.build_config`); this
module imports no torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from saswot.errors import ParameterError

#: Smallest side of a resolution in a segmenter search (five downsamplings to 1/32).
MIN_SIDE = 32


@dataclass(frozen=True)
class ProxyBatch:
    """Everything besides the network and the proxy that changes a proxy score.

    Attributes:
        data: the batch's source: a registered dataset (``camvid``, ...) or ``random``.
        batch_size: images in the batch.
        resolution: (H, W) of the batch.
        seed: seed of the batch and of the networks' weights (and, in ``rank``, of the
            architecture sample and the correlation subsets).
        num_classes: output classes of the networks (epe_nas labels, zen's classifier lookup);
            ``rank`` and ``avt-calibrate`` take the space's.
        ignore_index: label value left out of the loss.
        act_max_elems: bound on the stored layer-output values per sample and layer
            (:func:`saswot.proxies._stats.collect_stats`).
        device: where the passes run (``cpu``, ``cuda``).
    """

    data: str = "camvid"
    batch_size: int = 4
    resolution: tuple[int, int] = (64, 64)
    seed: int = 0
    num_classes: int = 17
    ignore_index: int = 255
    act_max_elems: int = 4096
    device: str = "cpu"

    def replace(self, **changes: Any) -> ProxyBatch:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """Plain dict (resolution as a list)."""
        d = asdict(self)
        d["resolution"] = list(self.resolution)
        return d

    def check(self) -> None:
        """Reject a batch the proxies cannot use, naming the parameter.

        Raises:
            ParameterError: ``batch_size`` below 2 (NWOT, jacov and epe_nas compare images).
        """
        if self.batch_size < 2:
            raise ParameterError("{batch.batch_size} must be >= 2 (NWOT, jacov and epe_nas compare images)")


@dataclass(frozen=True)
class RankConfig:
    """One ``saswot rank`` run: which archs of which space, which proxies, which proxy batch.

    Attributes:
        space: a registered search space with ground truth (:mod:`saswot.spaces`).
        proxies: ``all``, names, proxy files and ensembles (``ensemble:a,b``; groups separated by ``;``).
        batch: the proxy batch (its ``num_classes`` is replaced by the space's; its ``seed`` also
            seeds the architecture sample and the correlation subsets).
        bench: ground-truth file (default: the space's file under the data root).
        task: the benchmark task (default: the benchmark's default task).
        samples, sample_size: random subsets for mean ± std of the correlations.
        archs: ``"all"`` or the size of a random sample.
        data_root: data root (else ``$SASWOT_DATA``, else ``./data``).
        cache: score cache folder (default ``<cache root>/scores``).
        avt_file: AVT statistics (default: packaged for the space).
    """

    space: str
    proxies: str
    batch: ProxyBatch = field(default_factory=ProxyBatch)
    bench: str | None = None
    task: str | None = None
    samples: int = 10
    sample_size: int = 50
    archs: str = "all"
    data_root: str | None = None
    cache: str | Path | None = None
    avt_file: str | Path | None = None


@dataclass(frozen=True)
class AVTConfig:
    """One AVT calibration: min/max of raw proxies over a seeded sample of a space's benchmark archs.

    Attributes:
        space: a registered space with ground truth.
        n: size of the pre-sampled architecture set.
        proxies: the raw proxies whose ranges to record.
        sample_seed: seed of the architecture sample.
        batch, data_root, cache, bench, task: as :class:`RankConfig`.
    """

    space: str
    n: int = 50
    proxies: str = "saswot_minus,nwot"
    sample_seed: int = 2024
    batch: ProxyBatch = field(default_factory=ProxyBatch)
    data_root: str | None = None
    cache: str | Path | None = None
    bench: str | None = None
    task: str | None = None


#: The proxy batch of a segmenter search (``search-arch`` defaults).
SEGMENTER_BATCH = ProxyBatch(batch_size=2, resolution=(256, 512), num_classes=19)


@dataclass(frozen=True)
class ArchSearchConfig:
    """Everything that defines one segmenter search (the ``saswot search-arch`` options).

    Attributes:
        proxy: proxy name or proxy JSON path.
        generations, population, topk: evolution settings (iterations after the initial pool,
            pool size, parents kept and bred per iteration).
        max_latency_ms, max_gmacs: budget (at most one; LUT latency in ms or GMACs at ``target_resolution``).
        target_resolution: HxW the budget applies to.
        batch: the proxy batch (``seed`` also seeds the search; ``num_classes`` is the networks' output).
        data_root: data root (else ``$SASWOT_DATA``, else ``./data``).
        space_options: options of the searched space, read by the space alone (FasterSeg:
            ``widths``, the width policy ``fasterseg``, ``uniform4``..``uniform12`` or ``search``,
            and ``min_shared``, the minimum cells shared by the two branches).
        avt_samples: random architectures for the AVT calibration.
    """

    proxy: str
    generations: int = 20
    population: int = 20
    topk: int = 5
    max_latency_ms: float | None = None
    max_gmacs: float | None = None
    target_resolution: tuple[int, int] = (1024, 2048)
    batch: ProxyBatch = SEGMENTER_BATCH
    data_root: str | None = None
    space_options: Mapping[str, Any] = field(default_factory=dict)
    avt_samples: int = 20

    def check(self, sources: tuple[str, ...]) -> None:
        """Reject settings that cannot work, naming the parameters and the fix.

        Args:
            sources: the valid proxy-batch sources (:func:`saswot.datasets.proxy_batch.proxy_sources`).

        Raises:
            ParameterError: a resolution below 32, a proxy batch too small for BatchNorm at 1/64,
                both budgets, or an unknown data source.
        """
        for what, (h, w) in (
            ("target_resolution", self.target_resolution),
            ("batch.resolution", self.batch.resolution),
        ):
            if h < MIN_SIDE or w < MIN_SIDE:
                raise ParameterError(f"{{{what}}} {h}x{w} is too small: each side must be at least {MIN_SIDE}")
        h, w = self.batch.resolution
        if self.batch.batch_size * (h // 64) * (w // 64) < 2:
            raise ParameterError(
                f"{{batch.resolution}} {h}x{w} with {{batch.batch_size}} {self.batch.batch_size} is too small: zoomed "
                "cells at 1/32 work at 1/64 and BatchNorm needs more than one value per channel; use at least 64x128 "
                "(or 64x64 with batch size 2)"
            )
        if self.max_latency_ms is not None and self.max_gmacs is not None:
            raise ParameterError("give either {max_latency_ms} or {max_gmacs}, not both")
        if self.batch.data not in sources:
            raise ParameterError(f"{{batch.data}} must be one of {', '.join(sources)} (got '{self.batch.data}')")
