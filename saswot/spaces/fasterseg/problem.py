"""The FasterSeg space as a search problem over :class:`~saswot.spaces.fasterseg.genome.Genome` values.

:class:`FasterSegProblem` implements the generic engine's ``SearchProblem`` protocol
(:mod:`saswot.search.evolution`) and the :class:`saswot.spaces.base.SegmenterProblem` protocol:

* ``key`` – canonical string of the *decoded* network (many genomes → one key);
* ``is_valid`` – decoder legality, shared-prefix rule and the budget (GMACs and/or LUT latency
  at the target resolution), all checked before any scoring;
* ``evaluate`` – the fitness given by the ``scorer`` callable (the search passes a proxy scorer).

It knows nothing of proxies: the scorer is any picklable ``arch -> float | None``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from saswot.errors import NA_PREFIX, ScoreError
from saswot.runtime.parallel import Executor
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.cost import arch_cost
from saswot.spaces.fasterseg.decode import SpaceConfig, decode, legality_errors
from saswot.spaces.fasterseg.genome import Genome, crossover_genomes, mutate_genome, sample_genome
from saswot.spaces.fasterseg.latency import LatencyTable


@dataclass(frozen=True)
class Budget:
    """Resource limits checked in ``is_valid`` (None: no limit)."""

    max_latency_ms: float | None = None
    max_gmacs: float | None = None
    target_resolution: tuple[int, int] = (1024, 2048)


class FasterSegProblem:
    """The FasterSeg space as a ``SearchProblem`` for :func:`saswot.search.evolve` (and a
    :class:`saswot.spaces.base.SegmenterProblem` for the generic segmenter search).

    Args:
        space: decoding settings (branches, width policy, shared-prefix rule).
        scorer: fitness of a decoded network (larger is better; None rejects).
        budget: resource limits.
        lut: latency table (required if ``budget.max_latency_ms`` is set).
        num_classes: classes (for costs).
    """

    #: name of the space, recorded in calibration files
    space_name = "fasterseg"

    def __init__(
        self,
        space: SpaceConfig,
        scorer: Callable[[FasterSegArch], float | None],
        budget: Budget | None = None,
        lut: LatencyTable | None = None,
        num_classes: int = 19,
        mutation_tries: int = 20,
        executor: Executor | None = None,
    ) -> None:
        self.space = space
        #: where :meth:`evaluate_batch` scores networks (None: in this process); ``scorer`` must
        #: then be picklable (e.g. a :class:`ProxyScorer`)
        self.executor = executor
        #: ``{arch key: reason}`` of networks whose worker died twice (rejected candidates)
        self.failures: dict[str, str] = {}
        #: networks the proxy raised an error on (their candidates are rejected), with the reason
        self.unavailable: dict[str, str] = {}
        #: wall seconds of each network scored by :meth:`evaluate_batch`, in scoring order
        self.eval_seconds: list[float] = []
        self.scorer = scorer
        self.budget = budget or Budget()
        if self.budget.max_latency_ms is not None and lut is None:
            raise ScoreError("a latency budget needs a latency table (lut=LatencyTable(...))")
        self.lut = lut
        self.num_classes = num_classes
        self.mutation_tries = mutation_tries
        self.decode_cache_size = 20000
        self._decoded: dict[Genome, FasterSegArch] = {}
        self._costs: dict[str, dict[str, float | None]] = {}

    # ---------------------------------------------------------------- protocol
    def sample(self, rng: np.random.Generator) -> Genome:
        return sample_genome(rng, with_ratio=self.space.searches_widths)

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """Redraw a row of α, β (or ratio); retried until the decoded network changes."""
        key = self.key(genome)
        child = genome
        for _ in range(self.mutation_tries):
            child = mutate_genome(genome, rng)
            if self.key(child) != key:
                break
        return child

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        return crossover_genomes(a, b, rng)

    def key(self, genome: Genome) -> str:
        return self.decode(genome).key()

    def is_valid(self, genome: Genome) -> bool:
        arch = self.decode(genome)
        if legality_errors(arch, self.space.min_shared):
            return False
        cost = self.cost(arch)
        b = self.budget
        if b.max_gmacs is not None and cost["gmacs"] > b.max_gmacs:  # type: ignore[operator]
            return False
        if b.max_latency_ms is not None:
            lat = self.latency(arch)
            if lat > b.max_latency_ms:
                return False
        return True

    def evaluate(self, genome: Genome) -> float | None:
        arch = self.decode(genome)
        return self._keep_reason(arch, call_scorer_detailed(self.scorer, arch))

    def _keep_reason(self, arch: FasterSegArch, outcome: tuple[float | None, str | None]) -> float | None:
        """The value of ``outcome``; an n/a reason is recorded in :attr:`unavailable`."""
        value, reason = outcome
        if reason is not None and reason.startswith(NA_PREFIX):
            self.unavailable[arch.key()] = reason
        return value

    def evaluate_batch(self, genomes: list[Genome]) -> list[float | None]:
        """Fitness of several genomes, scored by :attr:`executor` (each network on its own).

        A network whose worker died twice is rejected (None) and listed in :attr:`failures`.
        """
        archs = [self.decode(g) for g in genomes]
        if self.executor is None:
            values: list[float | None] = []
            for arch in archs:
                t0 = time.perf_counter()
                values.append(self._keep_reason(arch, call_scorer_detailed(self.scorer, arch)))
                self.eval_seconds.append(time.perf_counter() - t0)
            return values
        out: list[float | None] = [None] * len(archs)
        for outcome in self.executor.map(call_scorer_detailed, self.scorer, archs):
            if outcome.ok and outcome.value is not None:
                out[outcome.index] = self._keep_reason(archs[outcome.index], outcome.value)
                self.eval_seconds.append(outcome.seconds)
            else:
                self.failures[archs[outcome.index].key()] = str(outcome.error)
        return out

    def to_json(self, genome: Genome) -> Any:
        return genome.to_json()

    def from_json(self, data: Any) -> Genome:
        return Genome.from_json(data)

    # ---------------------------------------------------------------- helpers
    def legal(self, arch: FasterSegArch) -> bool:
        """True if the decoded network is legal in this space (decoder rules, shared-prefix rule)."""
        return not legality_errors(arch, self.space.min_shared)

    def describe(self) -> dict[str, Any]:
        """The decoding settings, as recorded in checkpoints and calibration files."""
        return {k: v for k, v in asdict(self.space).items() if not k.startswith("_")}

    def decode(self, genome: Genome) -> FasterSegArch:
        """Decoded network of ``genome`` (memoised)."""
        arch = self._decoded.get(genome)
        if arch is None:
            arch = decode(genome, self.space)
            if len(self._decoded) >= self.decode_cache_size:
                self._decoded.pop(next(iter(self._decoded)))  # drop the oldest entry
            self._decoded[genome] = arch
        return arch

    def cost(self, arch: FasterSegArch) -> dict[str, float | None]:
        """Params (M), GMACs and (if a table is present and already computed) latency."""
        key = arch.key()
        if key not in self._costs:
            c = arch_cost(arch, self.budget.target_resolution, self.num_classes)
            self._costs[key] = {"params_m": c.params_m, "gmacs": c.gmacs, "latency_ms": None}
        return self._costs[key]

    def latency(self, arch: FasterSegArch) -> float:
        """LUT latency (ms) at the target resolution (memoised; measures missing entries)."""
        if self.lut is None:
            raise ScoreError("no latency table")
        c = self.cost(arch)
        if c["latency_ms"] is None:
            c["latency_ms"] = self.lut.estimate(arch, self.budget.target_resolution, self.num_classes).total_ms
        return float(c["latency_ms"])  # type: ignore[arg-type]


def call_scorer_detailed(
    scorer: Callable[[FasterSegArch], float | None], arch: FasterSegArch
) -> tuple[float | None, str | None]:
    """``(score, reason)`` of ``arch``: the per-network task of a search; the reason is None unless
    the scorer can tell why it rejected a network (a ``score_or_reason`` method)."""
    detailed = getattr(scorer, "score_or_reason", None)
    if detailed is not None:
        return detailed(arch)  # type: ignore[no-any-return]
    return scorer(arch), None
