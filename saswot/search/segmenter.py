"""The training-free segmenter search, whatever the space: settings, the one entry point, a result table.

A space with the ``segmenter-search`` capability (:mod:`saswot.spaces`) implements
``run_arch_search(settings, out, **options)``; :func:`run_arch_search` resolves the space and calls it::

    from saswot.search.segmenter import ArchSearchSettings, run_arch_search
    doc = run_arch_search(ArchSearchSettings(proxy="saswot", max_gmacs=27.8), "results/arch.json")
    print(doc["search"]["score"], doc["search"]["gmacs"])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saswot.errors import SaswotError

#: Smallest side of a resolution in this space (five downsamplings to 1/32).
MIN_SIDE = 32


@dataclass(frozen=True)
class ArchSearchSettings:
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
        from saswot.proxydata import proxy_sources

        if self.data not in proxy_sources():
            raise SaswotError(f"--data must be one of {', '.join(proxy_sources())} (got '{self.data}')")


def run_arch_search(
    settings: ArchSearchSettings,
    out: str | Path,
    *,
    space: Any = None,
    resume: bool = False,
    random_baseline: bool = False,
    show_progress: bool = True,
    executor: Any = None,
    on_note: Any = None,
) -> dict[str, Any]:
    """Search a segmenter with a zero-cost proxy under a budget; write the result document to ``out`` and return it.

    Args:
        settings: the search.
        out: result arch JSON; the checkpoint (``<stem>.ckpt.json``), AVT statistics and curve go beside it.
        space: a registered space name or space with ``segmenter-search`` (default: the one that has it).
        resume: continue from the checkpoint beside ``out``.
        random_baseline: also run random search with the same number of evaluations.
        show_progress: progress bars on stderr.
        executor: where networks are scored (:mod:`saswot.parallel`); None: in this process.
        on_note: receives one-line notes.
    """
    from saswot.spaces import REGISTRY, SEGMENTER_SEARCH

    sp = REGISTRY.get(space, SEGMENTER_SEARCH) if space is not None else REGISTRY.default(SEGMENTER_SEARCH)
    return sp.run_arch_search(  # type: ignore[attr-defined, no-any-return]
        settings,
        out,
        resume=resume,
        random_baseline=random_baseline,
        show_progress=show_progress,
        executor=executor,
        on_note=on_note,
    )


def summary_rows(doc: dict[str, Any]) -> list[list[Any]]:
    """Table rows (method, score, params, GMACs, latency, evaluations) of a result document."""
    info = doc["search"]
    rows = [
        [
            "evolution",
            info["score"],
            info["params_m"],
            info["gmacs"],
            "-" if info["latency_ms"] is None else info["latency_ms"],
            info["evaluations"],
        ]
    ]
    r = info.get("random")
    if r:
        rows.append(
            [
                "random",
                r["score"],
                r["params_m"],
                r["gmacs"],
                "-" if r["latency_ms"] is None else r["latency_ms"],
                r["evaluations"],
            ]
        )
    return rows
