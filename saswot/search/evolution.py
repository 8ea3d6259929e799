"""Generic greedy evolutionary search (SasWOT Algorithm 1) and a random-search baseline.

The engine knows nothing about proxies or architectures: a :class:`SearchProblem` supplies
``sample``, ``mutate``, ``crossover``, ``key`` (canonical string used for de-duplication and
as the fitness-cache key), ``is_valid`` (cheap early rejection, run before any expensive
evaluation), ``evaluate`` (fitness, larger is better; ``None`` or a non-finite value rejects the
candidate) and ``to_json``/``from_json`` (for checkpoints).

One iteration of :func:`evolve` (paper Algorithm 1, "greedy evolution"):

1. ``parents`` = the top-k of the current pool (by fitness);
2. the pool is cleared; the parents are kept (elitism), ``n_mutations`` children are made by
   mutating a uniformly chosen parent and ``n_crossovers`` children by crossing two distinct
   parents;
3. children that are invalid (``is_valid`` false), already in the pool, or rejected by
   ``evaluate`` are dropped (early rejection);
4. the pool is refilled with random valid samples up to ``population``;
5. if the best fitness ever seen has not improved for ``stagnation`` iterations, the best is
   recorded (it stays the result unless beaten) and the pool is re-sampled at random.

All randomness comes from the ``numpy.random.Generator`` passed in, whose state is saved in
each checkpoint; with a deterministic ``evaluate``, a run resumed from a checkpoint gives
exactly the result of the uninterrupted run.

A problem may also offer ``evaluate_batch(genomes) -> list[fitness]`` (e.g. scoring on several
worker processes, :mod:`saswot.runtime.parallel`). The engine then draws, before evaluating, the
candidates that the one-at-a-time loop would evaluate if every new evaluation were accepted, has
them evaluated together, and replays the one-at-a-time loop over them with those values; when a
rejection makes the loop ask for a candidate it did not foresee, it plans again from there. The
random draws, the pool, the counters and the history are therefore those of the one-at-a-time
loop: only when the evaluations run changes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Generic

import numpy as np

from saswot.errors import ParameterError, SaswotError
from saswot.search._state import (
    G,
    IterationRecord,
    SearchProblem,
    SearchResult,
    _load,
    _new_state,
    _record,
    _result,
    _save,
    _State,
)


@dataclass(frozen=True)
class EvolutionConfig:
    """Hyper-parameters of :func:`evolve`.

    Attributes:
        iterations: number of iterations (generations) after the initial population.
        population: pool size P.
        topk: number of parents k kept and bred each iteration.
        n_mutations: mutated children per iteration (default: ``topk``).
        n_crossovers: crossover children per iteration (default: ``topk``).
        stagnation: iterations without improvement before the pool is re-sampled (0: never).
        max_sample_tries: random draws allowed per needed valid sample before giving up.
    """

    iterations: int = 50
    population: int = 20
    topk: int = 5
    n_mutations: int | None = None
    n_crossovers: int | None = None
    stagnation: int = 5
    max_sample_tries: int = 2000

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ParameterError(f"{{population}} must be at least 2 (got {self.population})")
        if not 1 <= self.topk <= self.population:
            raise ParameterError(
                f"{{topk}} must be between 1 and {{population}} {self.population} (got {{topk}} {self.topk})"
            )
        if self.iterations < 0:
            raise ParameterError(f"{{iterations}} must be >= 0 (got {self.iterations})")

    @property
    def mutations(self) -> int:
        return self.topk if self.n_mutations is None else self.n_mutations

    @property
    def crossovers(self) -> int:
        return self.topk if self.n_crossovers is None else self.n_crossovers


class _Evaluator(Generic[G]):
    """Wraps a problem with the fitness cache and the counters."""

    def __init__(
        self, problem: SearchProblem[G], state: _State, hall_size: int, on_evaluate: Callable[[int], None] | None
    ) -> None:
        self.problem = problem
        self.state = state
        self.hall_size = hall_size
        self.on_evaluate = on_evaluate
        #: the problem's ``evaluate_batch`` (None: evaluate one candidate at a time)
        self.batch: Callable[[list[G]], list[float | None]] | None = getattr(problem, "evaluate_batch", None)
        self._ready: dict[str, float | None] = {}

    def needs_evaluation(self, genome: G, key: str) -> bool:
        """True if :meth:`fitness` would call ``evaluate`` for ``genome`` and no value is ready."""
        return key not in self.state.fitness and key not in self._ready and self.problem.is_valid(genome)

    def plan(self, candidates: list[G], keys: set[str], size: int, capacity: int) -> list[G]:
        """Candidates the admission loop would evaluate, in order, if every new evaluation were accepted.

        ``keys`` are those already in a pool of ``size`` members that may hold ``capacity``.
        """
        fitness = self.state.fitness
        seen, out, planned = set(keys), [], set()
        for g in candidates:
            if size >= capacity:
                break
            k = self.problem.key(g)
            if k in seen or not self.problem.is_valid(g):
                continue
            if k in fitness:
                if fitness[k] is not None:
                    seen.add(k)
                    size += 1
                continue
            if k not in self._ready and k not in planned:
                out.append(g)
                planned.add(k)
            seen.add(k)
            size += 1
        return out

    def prefetch(self, genomes: list[G]) -> None:
        """Evaluate ``genomes`` together (``evaluate_batch``); :meth:`fitness` then uses the values."""
        if self.batch is None or not genomes:
            return
        values = self.batch(list(genomes))
        for g, v in zip(genomes, values):
            self._ready[self.problem.key(g)] = v

    def fitness(self, genome: G) -> float | None:
        """Fitness of a genome (cached by key); None when rejected."""
        st = self.state
        if not self.problem.is_valid(genome):
            st.rejected += 1
            return None
        key = self.problem.key(genome)
        if key in st.fitness:
            return st.fitness[key]
        value = self._ready.pop(key) if key in self._ready else self.problem.evaluate(genome)
        st.evaluations += 1
        if value is None or not math.isfinite(float(value)):
            st.fitness[key] = None
            st.rejected += 1
        else:
            st.fitness[key] = float(value)
            self._update_hall(float(value), key, genome)
        if self.on_evaluate is not None:
            self.on_evaluate(st.evaluations)
        return st.fitness[key]

    def _update_hall(self, value: float, key: str, genome: G) -> None:
        st = self.state
        if any(k == key for _, k, _ in st.hall):
            return
        st.hall.append((value, key, self.problem.to_json(genome)))
        st.hall.sort(key=lambda t: (-t[0], t[1]))
        del st.hall[self.hall_size :]
        if value > st.best_fitness:
            st.best_fitness = value
            st.best_key = key
            st.best_json = self.problem.to_json(genome)


def _admit(candidates: list[G], pool: list[G], keys: set[str], capacity: int, ev: _Evaluator[G]) -> None:
    """Add ``candidates`` in order to ``pool`` (skipping duplicates, rejected ones, and all once
    ``capacity`` is reached), evaluating them together when the problem can."""
    problem = ev.problem
    i = 0
    while i < len(candidates):
        if ev.batch is not None:
            ev.prefetch(ev.plan(candidates[i:], keys, len(pool), capacity))
        while i < len(candidates):
            g = candidates[i]
            k = problem.key(g)
            if k in keys or len(pool) >= capacity:
                i += 1
                continue
            if ev.batch is not None and ev.needs_evaluation(g, k):
                break  # a rejection made room for a candidate not planned: plan again from here
            i += 1
            if ev.fitness(g) is None:
                continue
            pool.append(g)
            keys.add(k)


def _fill(pool: list[G], target: int, ev: _Evaluator[G], rng: np.random.Generator, max_tries: int) -> list[G]:
    """Add random valid, non-duplicate, accepted samples until ``len(pool) == target``."""
    problem = ev.problem
    keys = {problem.key(g) for g in pool}
    tries = 0
    while len(pool) < target:
        # draw what one-at-a-time sampling would draw if every new evaluation were accepted
        drawn: list[G] = []
        expected, seen = len(pool), set(keys)
        while expected < target:
            if tries >= max_tries * max(1, target):
                raise SaswotError(
                    f"could not draw {target} valid, distinct candidates after {tries} random samples; "
                    "the constraints (budget, legality) are probably too strict or the space too small: "
                    "relax the budget or lower the population"
                )
            tries += 1
            g = problem.sample(rng)
            k = problem.key(g)
            drawn.append(g)
            if k in seen:
                continue
            if ev.batch is None:
                break  # one candidate at a time
            if not problem.is_valid(g) or (k in ev.state.fitness and ev.state.fitness[k] is None):
                continue
            seen.add(k)
            expected += 1
        _admit(drawn, pool, keys, target, ev)
    return pool


def _rank(pool: list[G], ev: _Evaluator[G]) -> list[G]:
    """Pool sorted by fitness (descending); ties broken by key for determinism."""
    all_scored = [(ev.state.fitness[ev.problem.key(g)], ev.problem.key(g), g) for g in pool]
    scored = [(f, k, g) for f, k, g in all_scored if f is not None]
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [g for _, _, g in scored]


def evolve(
    problem: SearchProblem[G],
    config: EvolutionConfig,
    rng: np.random.Generator,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    meta: dict[str, Any] | None = None,
    on_iteration: Callable[[IterationRecord], None] | None = None,
    on_evaluate: Callable[[int], None] | None = None,
    hall_size: int = 10,
    stop_after: int | None = None,
) -> SearchResult[G]:
    """Greedy evolutionary search (see the module docstring).

    Args:
        problem: the search space and fitness.
        config: hyper-parameters.
        rng: the only source of randomness.
        checkpoint: JSON file written atomically after every iteration.
        resume: continue from ``checkpoint`` if it exists (its ``meta`` must equal ``meta``).
        meta: settings that must match for a resume (e.g. space, seed, proxy name).
        on_iteration: called with each :class:`IterationRecord` (progress display).
        on_evaluate: called with the running count of evaluations.
        hall_size: how many of the best distinct candidates to keep in ``SearchResult.top``.
        stop_after: stop (as if interrupted) after this many iterations in this call — used to
            test resumption.

    Returns:
        The best genome found, with history and the top candidates.
    """
    meta = dict(meta or {})
    meta["config"] = asdict(config)
    ckpt = Path(checkpoint) if checkpoint is not None else None
    t0 = time.perf_counter()
    if ckpt is not None and resume and ckpt.exists():
        st, pool = _load(ckpt, rng, problem, meta)
        ev = _Evaluator(problem, st, hall_size, on_evaluate)
    else:
        st = _new_state()
        ev = _Evaluator(problem, st, hall_size, on_evaluate)
        pool = _fill([], config.population, ev, rng, config.max_sample_tries)
        ranked = _rank(pool, ev)
        rec = _record(st, st.fitness[problem.key(ranked[0])] or -math.inf, t0)
        st.history.append(rec)
        if on_iteration is not None:
            on_iteration(rec)
        if ckpt is not None:
            _save(ckpt, st, rng, problem, pool, meta)

    done_here = 0
    while st.iteration < config.iterations:
        if stop_after is not None and done_here >= stop_after:
            break
        st.iteration += 1
        done_here += 1
        best_before = st.best_fitness
        parents = _rank(pool, ev)[: config.topk]
        new_pool: list[G] = list(parents)
        keys = {problem.key(g) for g in new_pool}
        children: list[G] = []
        for _ in range(config.mutations):
            children.append(problem.mutate(parents[int(rng.integers(len(parents)))], rng))
        for _ in range(config.crossovers):
            if len(parents) >= 2:
                i, j = rng.choice(len(parents), size=2, replace=False)
            else:
                i = j = 0
            children.append(problem.crossover(parents[int(i)], parents[int(j)], rng))
        _admit(children, new_pool, keys, config.population, ev)
        pool = _fill(new_pool, config.population, ev, rng, config.max_sample_tries)
        ranked = _rank(pool, ev)
        iteration_best = st.fitness[problem.key(ranked[0])] or -math.inf
        if st.best_fitness > best_before:
            st.stagnant = 0
        else:
            st.stagnant += 1
        if config.stagnation and st.stagnant >= config.stagnation:
            st.resets += 1
            st.stagnant = 0
            pool = _fill([], config.population, ev, rng, config.max_sample_tries)
        rec = _record(st, iteration_best, t0)
        st.history.append(rec)
        if on_iteration is not None:
            on_iteration(rec)
        if ckpt is not None:
            st.elapsed_s = rec.elapsed_s
            _save(ckpt, st, rng, problem, pool, meta)
            t0 = time.perf_counter()
    return _result(st, problem)


def random_search(
    problem: SearchProblem[G],
    evaluations: int,
    rng: np.random.Generator,
    *,
    report_every: int = 10,
    on_iteration: Callable[[IterationRecord], None] | None = None,
    on_evaluate: Callable[[int], None] | None = None,
    hall_size: int = 10,
    max_sample_tries: int = 2000,
) -> SearchResult[G]:
    """Random search with a budget of ``evaluations`` distinct evaluated candidates.

    The history has one record per ``report_every`` evaluations, so that its curve can be
    drawn against an evolution run on the same x-axis (evaluations).
    """
    if evaluations < 1:
        raise SaswotError(f"random search needs at least one evaluation (got {evaluations})")
    st = _new_state()
    ev = _Evaluator(problem, st, hall_size, on_evaluate)
    t0 = time.perf_counter()
    tries = 0
    last_reported = 0
    while st.evaluations < evaluations:
        # draw the candidates of the next evaluations (the count does not depend on their values)
        drawn: list[G] = []
        planned: list[G] = []
        seen: set[str] = set()
        goal = min(evaluations, st.evaluations + max(1, report_every)) if ev.batch is not None else st.evaluations + 1
        expected = st.evaluations
        while expected < goal:
            tries += 1
            if tries > max_sample_tries * evaluations:
                raise SaswotError(
                    f"random search drew {tries} samples but only {st.evaluations} could be evaluated; "
                    "the constraints are too strict or the space too small"
                )
            g = problem.sample(rng)
            drawn.append(g)
            if ev.batch is None:
                break  # one candidate at a time
            k = problem.key(g)
            if k not in seen and k not in st.fitness and problem.is_valid(g):
                seen.add(k)
                planned.append(g)
                expected += 1
        ev.prefetch(planned)
        for g in drawn:
            ev.fitness(g)
            if st.evaluations - last_reported >= report_every or st.evaluations >= evaluations:
                if st.evaluations == last_reported:
                    continue
                last_reported = st.evaluations
                st.iteration += 1
                rec = _record(st, st.best_fitness, t0)
                st.history.append(rec)
                if on_iteration is not None:
                    on_iteration(rec)
    return _result(st, problem)
