"""The settings of saswot's runs, one frozen dataclass per run kind.

:class:`ArchSearchConfig` is one segmenter search (``saswot search-arch``); the spaces read it
through the :class:`saswot.spaces.base.SegmenterSearch` protocol. This module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from saswot.errors import SaswotError

#: Smallest side of a resolution in this space (five downsamplings to 1/32).
MIN_SIDE = 32


@dataclass(frozen=True)
class ArchSearchConfig:
    """Everything that defines one segmenter search (the ``saswot search-arch`` options).

    Attributes:
        proxy: proxy name or proxy JSON path.
        generations, population, topk: evolution settings (iterations after the initial pool,
            pool size, parents kept and bred per iteration).
        max_latency_ms, max_gmacs: budget (at most one; LUT latency in ms or GMACs at ``target_resolution``).
        target_resolution: HxW the budget applies to.
        proxy_resolution: HxW of the proxy batch.
        batch_size: images in the proxy batch.
        num_classes: output classes of the networks.
        data: a registered dataset (``camvid``; falls back to ``random`` when absent) or ``random``.
        data_root: data root (else ``$SASWOT_DATA``, else ``./data``).
        device: ``cpu`` or ``cuda``.
        seed: seed of the search, the weights and the batch.
        widths: width policy of spaces that decode widths (None: the space's default; FasterSeg:
            ``fasterseg``, ``uniform4``..``uniform12`` or ``search``).
        min_shared: minimum cells shared by the two branches (two-branch spaces).
        avt_samples: random architectures for the AVT calibration.
    """

    proxy: str
    generations: int = 20
    population: int = 20
    topk: int = 5
    max_latency_ms: float | None = None
    max_gmacs: float | None = None
    target_resolution: tuple[int, int] = (1024, 2048)
    proxy_resolution: tuple[int, int] = (256, 512)
    batch_size: int = 2
    num_classes: int = 19
    data: str = "camvid"
    data_root: str | None = None
    device: str = "cpu"
    seed: int = 0
    widths: str | None = None
    min_shared: int = 0
    avt_samples: int = 20

    def check(self) -> None:
        """Reject settings that cannot work, with the fix.

        Raises:
            SaswotError: a resolution below 32, a proxy batch too small for BatchNorm at 1/64,
                both budgets, or an unknown data source.
        """
        for what, (h, w) in (("target", self.target_resolution), ("proxy", self.proxy_resolution)):
            if h < MIN_SIDE or w < MIN_SIDE:
                raise SaswotError(f"the {what} resolution {h}x{w} is too small: each side must be at least {MIN_SIDE}")
        h, w = self.proxy_resolution
        if self.batch_size * (h // 64) * (w // 64) < 2:
            raise SaswotError(
                f"--proxy-resolution {h}x{w} with --batch-size {self.batch_size} is too small: zoomed "
                "cells at 1/32 work at 1/64 and BatchNorm needs more than one value per channel; use at least 64x128 "
                "(or 64x64 with --batch-size 2)"
            )
        if self.max_latency_ms is not None and self.max_gmacs is not None:
            raise SaswotError("give either --max-latency-ms or --max-gmacs, not both")
        from saswot.datasets.proxy_batch import proxy_sources

        if self.data not in proxy_sources():
            raise SaswotError(f"--data must be one of {', '.join(proxy_sources())} (got '{self.data}')")
