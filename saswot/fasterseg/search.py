"""Training-free segmenter search in the FasterSeg space (SasWOT §"Training-free Segmenter Search").

:class:`FasterSegProblem` implements the generic engine's ``SearchProblem`` protocol
(:mod:`saswot.search.evolution`) over :class:`~saswot.fasterseg.genome.Genome` values:

* ``key`` – canonical string of the *decoded* network (many genomes → one key);
* ``is_valid`` – decoder legality, shared-prefix rule and the budget (GMACs and/or LUT latency
  at the target resolution), all checked before any scoring;
* ``evaluate`` – the proxy score of the network built with random weights (fixed seed) on one
  fixed batch (see :class:`ProxyScorer`).

:func:`calibrate_avt_for_space` pre-samples a seeded set of random legal architectures of the
same space and estimates the AVT min/max the ``saswot`` proxy needs (paper Eq. 4).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from saswot.allocator import collect_on_exit
from saswot.errors import ScoreError
from saswot.fasterseg.arch import FasterSegArch
from saswot.fasterseg.builder import build_network
from saswot.fasterseg.cost import arch_cost
from saswot.fasterseg.decode import SpaceConfig, decode, legality_errors
from saswot.fasterseg.genome import Genome, crossover_genomes, mutate_genome, sample_genome
from saswot.fasterseg.latency import LatencyTable
from saswot.parallel import Executor

if TYPE_CHECKING:
    from saswot.proxies.settings import ScoringSettings


@dataclass(frozen=True)
class Budget:
    """Resource limits checked in ``is_valid`` (None: no limit)."""

    max_latency_ms: float | None = None
    max_gmacs: float | None = None
    target_resolution: tuple[int, int] = (1024, 2048)


class ProxyScorer:
    """Scores a decoded network with one proxy on random-init weights and a fixed batch.

    Args:
        proxy: a proxy name or proxy JSON path (resolved by :func:`saswot.proxies.resolve_proxy`).
        images, labels: the proxy batch (N×3×H×W, N×H×W).
        settings: the scoring settings (classes of the built networks, device, AVT statistics for
            proxies that need them; ``settings.seed`` seeds the proxies' own random draws).
        init_seed: weight-initialisation seed used for every network (same seed → same score).
        keywords: instead of ``settings``, older calls pass ``num_classes``, ``device``, ``avt``
            and ``seed`` (the weight-initialisation seed; the proxies' draws then use seed 0).
    """

    def __init__(
        self,
        proxy: Any,
        images: torch.Tensor,
        labels: torch.Tensor,
        settings: ScoringSettings | None = None,
        *,
        init_seed: int = 0,
        **keywords: Any,
    ) -> None:
        from saswot.proxies import resolve_proxy
        from saswot.proxies.settings import settings_from

        if "seed" in keywords:  # the older keyword meant the weight-initialisation seed
            init_seed = int(keywords.pop("seed"))
        self.spec = resolve_proxy(proxy)
        self.images, self.labels = images, labels
        self.settings = settings_from(settings, keywords, "ProxyScorer")
        self.init_seed = init_seed

    @property
    def name(self) -> str:
        """Proxy name."""
        return self.spec.name

    @property
    def num_classes(self) -> int:
        """Classes of the built networks (``settings.num_classes``)."""
        return self.settings.num_classes

    @property
    def avt(self) -> Any:
        """AVT statistics the proxy is normalised with (``settings.avt``); assignable."""
        return self.settings.avt

    @avt.setter
    def avt(self, stats: Any) -> None:
        self.settings = self.settings.replace(avt=stats)

    def scores(self, arch: FasterSegArch, proxies: list[Any]) -> dict[str, float]:
        """Raw scores of several proxies (one statistics pass)."""
        from saswot.proxies import score_network

        # Free the network, its gradients and any hook closures on leaving: a long search must not
        # keep one candidate's activations alive until the next cyclic garbage collection (the
        # collection skips the long-lived objects, saswot.allocator).
        with collect_on_exit():
            net = build_network(arch, self.settings.num_classes, seed=self.init_seed)
            scores = score_network(net, self.images, self.labels, proxies, self.settings)
            del net
        return scores

    def score_or_reason(self, arch: FasterSegArch) -> tuple[float | None, str | None]:
        """``(score, None)``, or ``(None, reason)`` when the proxy failed on the network (raised an
        error there, or gave a non-finite value)."""
        from saswot.proxies import score_network_detailed

        with collect_on_exit():
            net = build_network(arch, self.settings.num_classes, seed=self.init_seed)
            report = score_network_detailed(net, self.images, self.labels, [self.spec], self.settings)
            del net
        value = report.scores[self.spec.name]
        reason = report.failed.get(self.spec.name)
        if reason is not None or not math.isfinite(value):
            return None, reason or f"non-finite value {value}"
        return float(value), None

    def __call__(self, arch: FasterSegArch) -> float | None:
        """The proxy score, or None if the proxy failed (non-finite / sentinel)."""
        from saswot.proxies import SENTINEL

        value = self.scores(arch, [self.spec])[self.spec.name]
        if value == SENTINEL or not math.isfinite(value):
            return None
        return float(value)


class FasterSegProblem:
    """The FasterSeg space as a ``SearchProblem`` for :func:`saswot.search.evolve`.

    Args:
        space: decoding settings (branches, width policy, shared-prefix rule).
        scorer: fitness of a decoded network (larger is better; None rejects).
        budget: resource limits.
        lut: latency table (required if ``budget.max_latency_ms`` is set).
        num_classes: classes (for costs).
    """

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
        from saswot.proxies import NA_PREFIX

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
            if outcome.ok:
                out[outcome.index] = self._keep_reason(archs[outcome.index], outcome.value)  # type: ignore[arg-type]
                self.eval_seconds.append(outcome.seconds)
            else:
                self.failures[archs[outcome.index].key()] = str(outcome.error)
        return out

    def to_json(self, genome: Genome) -> Any:
        return genome.to_json()

    def from_json(self, data: Any) -> Genome:
        return Genome.from_json(data)

    # ---------------------------------------------------------------- helpers
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


def call_scorer(scorer: Callable[[FasterSegArch], float | None], arch: FasterSegArch) -> float | None:
    """``scorer(arch)``: the per-network task of a parallel search (:mod:`saswot.parallel`)."""
    return scorer(arch)


def call_scorer_detailed(
    scorer: Callable[[FasterSegArch], float | None], arch: FasterSegArch
) -> tuple[float | None, str | None]:
    """``(score, reason)`` of ``arch``: the per-network task of a search; the reason is None unless
    the scorer can tell why it rejected a network (:meth:`ProxyScorer.score_or_reason`)."""
    detailed = getattr(scorer, "score_or_reason", None)
    if detailed is not None:
        return detailed(arch)  # type: ignore[no-any-return]
    return scorer(arch), None


def _score_terms(shared: tuple[ProxyScorer, list[str]], arch: FasterSegArch) -> dict[str, float]:
    """Raw scores of the AVT terms of one network (the task of :func:`calibrate_avt_for_space`)."""
    scorer, names = shared
    return scorer.scores(arch, names)


def avt_components(spec: Any) -> tuple[str, ...]:
    """Registry names of the terms a proxy's AVT normalisation needs (its declared ``avt_terms``)."""
    terms = tuple(getattr(spec, "avt_terms", ()))
    if terms:
        return terms
    raise ScoreError(f"proxy '{spec.name}' needs AVT statistics but does not say which terms to calibrate")


def sample_and_score(
    problem: FasterSegProblem,
    scorer: ProxyScorer,
    proxies: Sequence[Any],
    n: int,
    seed: int,
    on_step: Callable[[], None] | None = None,
    executor: Executor | None = None,
    what: str = "AVT calibration",
) -> tuple[list[str], list[dict[str, float]]]:
    """Raw scores of ``proxies`` on ``n`` seeded random legal architectures of the space.

    The architectures are drawn with their own generator (``[seed, 7]``), so a calibration never
    perturbs the search's random stream. Budget is ignored (the whole space is sampled). The
    networks are scored by ``executor`` (default: in this process).

    Returns:
        ``(architecture keys, per-architecture {proxy name: score})``, in draw order.

    Raises:
        ScoreError: a worker died twice on one of the networks.
    """
    from saswot.parallel import SerialExecutor

    rng = np.random.default_rng([seed, 7])
    keys: set[str] = set()
    drawn: list[FasterSegArch] = []
    tries = 0
    while len(drawn) < n and tries < 100 * n:
        tries += 1
        arch = problem.decode(problem.sample(rng))
        if arch.key() in keys or legality_errors(arch, problem.space.min_shared):
            continue
        keys.add(arch.key())
        drawn.append(arch)
    scored: list[dict[str, float] | None] = [None] * len(drawn)
    ex = executor if executor is not None else SerialExecutor()
    for outcome in ex.map(_score_terms, (scorer, list(proxies)), drawn):
        if not outcome.ok:
            raise ScoreError(
                f"{what}: network {drawn[outcome.index].key()} could not be scored ({outcome.error}); rerun the search"
            )
        scored[outcome.index] = outcome.value
        if on_step is not None:
            on_step()
    return [a.key() for a in drawn], [s for s in scored if s is not None]


def _calibration_meta(problem: FasterSegProblem, archs: list[str], seed: int) -> dict[str, Any]:
    return {
        "space": "fasterseg",
        "n": len(archs),
        "seed": seed,
        "space_config": {k: v for k, v in asdict(problem.space).items() if not k.startswith("_")},
    }


def calibrate_avt_for_space(
    problem: FasterSegProblem,
    scorer: ProxyScorer,
    n: int,
    seed: int,
    on_step: Callable[[], None] | None = None,
    executor: Executor | None = None,
) -> Any:
    """AVT min/max of the proxy's terms over ``n`` seeded random legal architectures of the space
    (:func:`sample_and_score`).

    Raises:
        ScoreError: a worker died twice on one of the networks.
    """
    from saswot.proxies.avt import calibrate_avt

    names = list(avt_components(scorer.spec))
    archs, scored = sample_and_score(problem, scorer, names, n, seed, on_step, executor)
    return calibrate_avt({p: [s[p] for s in scored] for p in names}, _calibration_meta(problem, archs, seed))


def calibrate_ensemble_for_space(
    problem: FasterSegProblem,
    scorer: ProxyScorer,
    ensemble: Any,
    n: int,
    seed: int,
    on_step: Callable[[], None] | None = None,
    executor: Executor | None = None,
) -> Any:
    """The :class:`~saswot.proxies.ensemble.EnsembleCalibration` of an ensemble's members over ``n``
    seeded random legal architectures of the space (:func:`sample_and_score`), scored with
    ``scorer``'s batch and settings — the stored normalisation that lets the ensemble score one
    network at a time during the search.

    Raises:
        ScoreError: a worker died twice on one of the networks, or a member never gave a finite score.
    """
    from saswot.proxies import resolve_proxy
    from saswot.proxies.ensemble import EnsembleCalibration, member_names

    written = member_names([ensemble])
    specs = {w: resolve_proxy(w) for w in written}
    archs, scored = sample_and_score(
        problem, scorer, list(specs.values()), n, seed, on_step, executor, what="ensemble calibration"
    )
    values = {w: [s[spec.name] for s in scored] for w, spec in specs.items()}
    meta = {**_calibration_meta(problem, archs, seed), "archs": archs, "ensemble": ensemble.name}
    return EnsembleCalibration.fit(values, meta)
