"""The FasterSeg search space, registered as ``fasterseg``: decoded two-branch networks.

Architectures are read from arch JSON files, built-in names (:func:`~saswot.spaces.fasterseg.arch.load_arch`)
or the canonical key of an architecture already read (e.g. from the benchmark);
random architectures are decoded from random α/β genomes with the default decoding settings
(:class:`~saswot.spaces.fasterseg.decode.SpaceConfig`). The space has the training-free segmenter search
(:meth:`FasterSegSpace.segmenter_problem` for :func:`saswot.search.segmenter.run_arch_search`, ``saswot search-arch``), a latency lookup table
and trained ground truth: the ``saswot minibench`` file shipped in ``saswot/data/fasterseg``
(CamVid val mIoU in %, the mean over training seeds, as ``val_accuracy`` of task ``camvid``), so
``rank``, ``bench info`` and ``avt-calibrate`` work on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from saswot.config import ArchSearchConfig
from saswot.errors import ParameterError, SaswotError
from saswot.spaces.base import BENCHMARK, LATENCY, SEGMENTER_SEARCH, ArchCost, BaseSpace, register_space
from saswot.spaces.fasterseg.arch import FasterSegArch, builtin_names, load_arch
from saswot.spaces.fasterseg.benchfile import load_bench
from saswot.spaces.fasterseg.decode import SpaceConfig, decode, legality_errors
from saswot.spaces.fasterseg.genome import sample_genome
from saswot.spaces.table import TableBenchmark

if TYPE_CHECKING:
    from saswot.spaces.fasterseg.problem import FasterSegProblem

#: Cityscapes classes (FasterSeg's target).
NUM_CLASSES = 19
#: The trained ground truth shipped with saswot (``saswot minibench run``, recipe ``cpu-half-8ep``).
DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "data" / "fasterseg" / "minibench-camvid.jsonl"


#: Options of a segmenter search in this space (:attr:`saswot.config.ArchSearchConfig.space_options`).
SPACE_OPTIONS = ("widths", "min_shared")


class FasterSegSpace(BaseSpace):
    """FasterSeg's space of decoded networks (see :mod:`saswot.spaces.fasterseg`)."""

    name = "fasterseg"
    description = "FasterSeg: two-branch multi-resolution networks decoded from alpha/beta matrices (infinite)"
    num_classes = NUM_CLASSES
    capabilities = frozenset({SEGMENTER_SEARCH, LATENCY, BENCHMARK})
    #: the few-shot predictor of short-recipe CamVid mIoU shipped in saswot/data/fasterseg (the
    #: objective whose winners trained best in the fair Table 4; docs/results.md 4.9)
    default_objective = "predictor:camvid"

    def __init__(self) -> None:
        #: canonical key -> architecture, for every architecture read from a benchmark
        self._known: dict[str, Any] = {}

    def parse(self, text: Any) -> Any:

        if isinstance(text, FasterSegArch):
            return text
        if isinstance(text, Path):
            return load_arch(text)
        if not isinstance(text, str):
            raise SaswotError(f"a FasterSeg architecture is a built-in name, a key or an arch JSON path, not {text!r}")
        known = self._known.get(text.strip())
        return known if known is not None else load_arch(text)

    def benchmark(
        self, path: str | os.PathLike[str] | None = None, data_root: str | os.PathLike[str] | None = None
    ) -> Any:
        """Trained ground truth from a ``saswot minibench`` file (default: the shipped CamVid one).

        ``val_accuracy`` is the val mIoU in % (mean over the seeds trained); ``params`` (M), ``gmacs``
        and ``latency_ms`` are kept as reference fields. Only one recipe may be in the file.
        """

        p = Path(path) if path is not None else DEFAULT_BENCH
        records: dict[str, dict[str, Any]] = {}
        for group in load_bench(p).values():
            arch = FasterSegArch.from_json(group["arch"])
            self._known[arch.key()] = arch
            records[arch.key()] = {
                "val_accuracy": 100.0 * group["miou"],
                "params": group["params_m"],
                "gmacs": group["gmacs"],
                "latency_ms": group["latency_ms"],
                "seeds": len(group["seeds"]),
            }
        if not records:
            raise SaswotError(f"'{p}' holds no finished architecture yet; train some with `saswot minibench run`")
        return TableBenchmark(self, {"camvid": records}, p, default_task="camvid")

    def key(self, arch: Any) -> str:
        return str(self.parse(arch).key())

    def build(self, arch: Any, *, num_classes: int = NUM_CLASSES, seed: int | None = None) -> Any:
        from saswot.spaces.fasterseg.builder import build_network  # torch: listing the spaces must not load it

        return build_network(self.parse(arch), num_classes=num_classes, seed=seed)

    def sample(self, n: int, rng: np.random.Generator) -> list[Any]:

        config = SpaceConfig()
        seen: set[str] = set()
        out: list[Any] = []
        tries = 0
        while len(out) < n:
            tries += 1
            if tries > 100 * max(n, 1):
                raise SaswotError(f"drew {tries - 1} genomes but found only {len(out)} distinct legal networks")
            arch = decode(sample_genome(rng, with_ratio=config.searches_widths), config)
            if arch.key() in seen or legality_errors(arch, config.min_shared):
                continue
            seen.add(arch.key())
            out.append(arch)
        return out

    def cost(self, arch: Any, resolution: tuple[int, int], num_classes: int | None = None) -> ArchCost:
        from saswot.spaces.fasterseg.cost import arch_cost  # torch: listing the spaces must not load it

        c = arch_cost(self.parse(arch), resolution, num_classes or self.num_classes)
        return ArchCost(params_m=c.params_m, gmacs=c.gmacs)

    def latency_ms(self, arch: Any, resolution: tuple[int, int], device: str = "cpu") -> float:
        """Lookup-table latency (ms) of ``arch`` on ``device`` (missing entries are measured and cached)."""
        from saswot.spaces.fasterseg.latency import LatencyTable  # torch: listing the spaces must not load it

        return float(LatencyTable(device).estimate(self.parse(arch), resolution, self.num_classes).total_ms)

    def to_json(self, arch: Any) -> dict[str, Any]:
        """The arch JSON of ``arch`` (as written by ``search-arch`` and stored in checkpoints)."""
        return dict(self.parse(arch).to_json())

    def from_json(self, data: Any) -> Any:
        """Inverse of :meth:`to_json`."""

        return FasterSegArch.from_json(data)

    def builtin_names(self) -> list[str]:
        """Names :meth:`parse` reads besides paths and keys (the released FasterSeg student)."""

        return builtin_names()

    def build_for_training(self, arch: Any, *, num_classes: int, aux_heads: bool = False) -> Any:
        """The network with the training-only auxiliary heads if asked (``saswot train``)."""
        from saswot.spaces.fasterseg.builder import build_network  # torch: listing the spaces must not load it

        return build_network(self.parse(arch), num_classes=num_classes, aux_heads=aux_heads)

    def feature_sets(self) -> tuple[str, ...]:
        """``structure`` (the default) and ``structure-paths`` (see :mod:`saswot.spaces.fasterseg.features`)."""
        from saswot.spaces.fasterseg.features import FEATURE_SETS  # torch: listing the spaces must not load it

        return FEATURE_SETS

    def encode(self, arch: Any, feature_set: str | None = None) -> list[float]:
        """Structure features (:func:`saswot.spaces.fasterseg.features.feature_set`): cells, widths
        and compute per grid scale, operator mix, depths, shared cells, GMACs and parameters, and with
        ``structure-paths`` the shape of each branch.

        Raises:
            UnknownNameError: an unknown ``feature_set``.
        """
        from saswot.spaces.fasterseg.features import FEATURE_SETS
        from saswot.spaces.fasterseg.features import feature_set as features

        return features(self.parse(arch), feature_set or FEATURE_SETS[0])

    def encoding_names(self, feature_set: str | None = None) -> list[str]:
        """Names of the :meth:`encode` features of ``feature_set`` (None: the default), in order."""
        from saswot.spaces.fasterseg.features import FEATURE_SETS, feature_set_names

        return feature_set_names(feature_set or FEATURE_SETS[0])

    def details(self, arch: Any) -> dict[str, Any]:
        """Cells per branch and cells shared by the branches (``arch-info``)."""
        a = self.parse(arch)
        return {"cells": [len(b.ops) for b in a.branches], "shared_cells": a.shared_prefix()}

    def latency_report(
        self,
        arch: Any,
        resolution: tuple[int, int],
        num_classes: int,
        device: str = "cpu",
        on_component: Any = None,
    ) -> dict[str, Any]:
        """LUT latency (total and per part) and end-to-end measured latency, in ms (``arch-info --latency``)."""
        from saswot.spaces.fasterseg.builder import build_network  # torch: listing the spaces must not load it
        from saswot.spaces.fasterseg.latency import LatencyTable, measure_latency

        a = self.parse(arch)
        lut = LatencyTable(device)
        est = lut.estimate(a, resolution, num_classes, on_component=on_component)
        measured = measure_latency(build_network(a, num_classes, seed=0), resolution, device)
        return {
            "latency_ms": round(est.total_ms, 3),
            "latency_breakdown_ms": {
                "stem": round(est.stem_ms, 3),
                "cells": round(est.cells_ms, 3),
                "head": round(est.head_ms, 3),
            },
            "latency_measured_ms": round(measured, 3),
            "device": lut.tag,
            "lut": str(lut.path),
        }

    def segmenter_problem(
        self,
        settings: ArchSearchConfig,
        scorer: Callable[[Any], float | None],
        *,
        executor: Any = None,
        on_note: Callable[[str], None] | None = None,
    ) -> FasterSegProblem:
        """The search problem of one ``search-arch`` run (:class:`FasterSegProblem`), budget checked.

        Raises:
            SaswotError: the budget is below the cheapest network of the space (named in the message).
            ParameterError: an option of ``settings.space_options`` this space does not have.
        """
        from saswot.spaces.fasterseg.feasibility import check_budget  # torch: listing the spaces must not load it
        from saswot.spaces.fasterseg.latency import LatencyTable
        from saswot.spaces.fasterseg.problem import Budget, FasterSegProblem

        s = settings
        unknown = sorted(set(s.space_options) - set(SPACE_OPTIONS))
        if unknown:
            raise ParameterError(
                f"{{space_options}}: the fasterseg space has no option {', '.join(unknown)}; "
                f"its options are {', '.join(SPACE_OPTIONS)}"
            )
        config = SpaceConfig(
            widths=s.space_options.get("widths") or "fasterseg", min_shared=int(s.space_options.get("min_shared", 0))
        )
        lut = LatencyTable(s.batch.device) if s.max_latency_ms is not None else None
        budget = Budget(max_latency_ms=s.max_latency_ms, max_gmacs=s.max_gmacs, target_resolution=s.target_resolution)
        problem = FasterSegProblem(config, scorer, budget, lut, s.batch.num_classes)
        problem.executor = executor if executor is not None and executor.kind != "serial" else None
        check_budget(problem, s.batch.seed, on_note=on_note)
        return problem

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_the_space, ())


SPACE = register_space(FasterSegSpace())


def _the_space() -> FasterSegSpace:
    return SPACE  # type: ignore[return-value]
