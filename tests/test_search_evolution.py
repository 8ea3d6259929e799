"""Tests of the generic evolution engine on a toy problem (maximise the number of ones)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from saswot.errors import SaswotError
from saswot.search import EvolutionConfig, evolve, random_search

N_BITS = 16


@dataclass
class OneMax:
    """Bit strings; fitness = number of ones; strings starting with '11' are 'invalid'."""

    evaluated: int = 0

    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        return tuple(int(b) for b in rng.integers(0, 2, N_BITS))

    def mutate(self, g: tuple[int, ...], rng: np.random.Generator) -> tuple[int, ...]:
        i = int(rng.integers(N_BITS))
        return g[:i] + (1 - g[i],) + g[i + 1:]

    def crossover(self, a, b, rng):
        cut = int(rng.integers(1, N_BITS))
        return a[:cut] + b[cut:]

    def key(self, g) -> str:
        return "".join(map(str, g))

    def is_valid(self, g) -> bool:
        return not (g[0] == 1 and g[1] == 1)

    def evaluate(self, g) -> float | None:
        self.evaluated += 1
        if sum(g) == 0:
            return float("nan")  # rejected: non-finite
        return float(sum(g))

    def to_json(self, g):
        return list(g)

    def from_json(self, d):
        return tuple(int(x) for x in d)


CFG = EvolutionConfig(iterations=30, population=12, topk=4, stagnation=5)


def test_evolution_improves_and_respects_validity() -> None:
    problem = OneMax()
    res = evolve(problem, CFG, np.random.default_rng(0))
    assert problem.is_valid(res.best)
    assert res.best_fitness == sum(res.best)
    # the optimum among valid strings has N_BITS - 1 ones; evolution should get close
    assert res.best_fitness >= N_BITS - 2
    assert res.history[0].iteration == 0 and len(res.history) == CFG.iterations + 1
    bests = [r.best_fitness for r in res.history]
    assert bests == sorted(bests), "best-so-far must be monotone"
    # each distinct candidate is evaluated once (cache by key)
    assert problem.evaluated == res.evaluations
    assert [f for _, f in res.top] == sorted([f for _, f in res.top], reverse=True)


def test_evolution_is_deterministic_under_seed() -> None:
    a = evolve(OneMax(), CFG, np.random.default_rng(7))
    b = evolve(OneMax(), CFG, np.random.default_rng(7))
    assert a.best == b.best
    assert [(r.best_key, r.evaluations) for r in a.history] == [(r.best_key, r.evaluations) for r in b.history]


def test_resume_reproduces_uninterrupted_run(tmp_path) -> None:
    full = evolve(OneMax(), CFG, np.random.default_rng(3))
    ckpt = tmp_path / "ck.json"
    part = evolve(OneMax(), CFG, np.random.default_rng(3), checkpoint=ckpt, stop_after=11)
    assert len(part.history) == 12
    assert json.loads(ckpt.read_text())["iteration"] == 11
    # a fresh generator with another seed: the state must come from the checkpoint
    resumed = evolve(OneMax(), CFG, np.random.default_rng(999), checkpoint=ckpt, resume=True)
    assert resumed.best == full.best
    assert [(r.best_key, r.iteration_best, r.evaluations) for r in resumed.history] == [
        (r.best_key, r.iteration_best, r.evaluations) for r in full.history
    ]


def test_resume_with_other_settings_is_refused(tmp_path) -> None:
    ckpt = tmp_path / "ck.json"
    evolve(OneMax(), CFG, np.random.default_rng(3), checkpoint=ckpt, stop_after=2, meta={"seed": 3})
    with pytest.raises(SaswotError, match="different settings"):
        evolve(OneMax(), CFG, np.random.default_rng(3), checkpoint=ckpt, resume=True, meta={"seed": 4})


def test_finished_search_extends_with_more_iterations(tmp_path) -> None:
    from dataclasses import replace

    longer = replace(CFG, iterations=CFG.iterations + 10)
    full = evolve(OneMax(), longer, np.random.default_rng(3))
    ckpt = tmp_path / "ck.json"
    done = evolve(OneMax(), CFG, np.random.default_rng(3), checkpoint=ckpt, meta={"seed": 3})
    assert len(done.history) == CFG.iterations + 1
    extended = evolve(OneMax(), longer, np.random.default_rng(0), checkpoint=ckpt, resume=True, meta={"seed": 3})
    assert [(r.best_key, r.evaluations) for r in extended.history] == [(r.best_key, r.evaluations) for r in full.history]
    with pytest.raises(SaswotError, match="population"):
        evolve(OneMax(), replace(longer, population=13), np.random.default_rng(0), checkpoint=ckpt, resume=True,
               meta={"seed": 3})


def test_stagnation_resets_pool() -> None:
    class Flat(OneMax):
        def evaluate(self, g):
            self.evaluated += 1
            return 1.0 + 1e-6 * int(self.key(g), 2)  # tiny differences: best rarely improves

    res = evolve(Flat(), EvolutionConfig(iterations=20, population=6, topk=2, stagnation=2),
                 np.random.default_rng(1))
    assert res.history[-1].resets >= 1


def test_random_search_budget_and_history() -> None:
    problem = OneMax()
    res = random_search(problem, 40, np.random.default_rng(0), report_every=10)
    assert res.evaluations == 40
    assert [r.evaluations for r in res.history] == [10, 20, 30, 40]
    assert problem.is_valid(res.best)


def test_impossible_constraints_fail_clearly() -> None:
    class Impossible(OneMax):
        def is_valid(self, g):
            return False

    with pytest.raises(SaswotError, match="too strict"):
        evolve(Impossible(), EvolutionConfig(iterations=1, population=4, topk=2, max_sample_tries=5),
               np.random.default_rng(0))


def test_bad_config_rejected() -> None:
    with pytest.raises(SaswotError):
        EvolutionConfig(population=4, topk=5)
