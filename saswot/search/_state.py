"""The state of an evolutionary search: the problem protocol, the result, one iteration's record and
the checkpoint that makes a search resumable (written after every iteration, atomically)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from saswot.errors import SaswotError
from saswot.utils.io import read_json, write_json

G = TypeVar("G")


CHECKPOINT_VERSION = 1


class SearchProblem(Protocol[G]):
    """What a search space must provide to be searched."""

    def sample(self, rng: np.random.Generator) -> G:
        """A random genome."""
        ...

    def mutate(self, genome: G, rng: np.random.Generator) -> G:
        """A mutated copy of ``genome`` (genomes are immutable values)."""
        ...

    def crossover(self, a: G, b: G, rng: np.random.Generator) -> G:
        """A child combining ``a`` and ``b``."""
        ...

    def key(self, genome: G) -> str:
        """Canonical string: equal keys mean the same candidate."""
        ...

    def is_valid(self, genome: G) -> bool:
        """Cheap legality check run before any evaluation (early rejection)."""
        ...

    def evaluate(self, genome: G) -> float | None:
        """Fitness, larger is better; ``None``/NaN/inf rejects the candidate."""
        ...

    def to_json(self, genome: G) -> Any:
        """JSON-serialisable form of ``genome``."""
        ...

    def from_json(self, data: Any) -> G:
        """Inverse of :meth:`to_json`."""
        ...


@dataclass(frozen=True)
class IterationRecord:
    """Progress after one iteration (iteration 0 = initial population)."""

    iteration: int
    best_fitness: float
    best_key: str
    iteration_best: float
    evaluations: int
    rejected: int
    resets: int
    elapsed_s: float


@dataclass
class SearchResult(Generic[G]):
    """Outcome of a search: the best genome, its fitness, the history and the top candidates."""

    best: G
    best_fitness: float
    history: list[IterationRecord]
    evaluations: int
    rejected: int
    top: list[tuple[G, float]] = field(default_factory=list)

    def history_json(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.history]


@dataclass
class _State:
    iteration: int
    pool: list[Any]
    fitness: dict[str, float | None]
    best_json: Any
    best_key: str
    best_fitness: float
    stagnant: int
    resets: int
    evaluations: int
    rejected: int
    elapsed_s: float
    history: list[IterationRecord]
    hall: list[tuple[float, str, Any]]


def _record(st: _State, iteration_best: float, t0: float) -> IterationRecord:
    return IterationRecord(
        iteration=st.iteration,
        best_fitness=st.best_fitness,
        best_key=st.best_key,
        iteration_best=iteration_best,
        evaluations=st.evaluations,
        rejected=st.rejected,
        resets=st.resets,
        elapsed_s=st.elapsed_s + (time.perf_counter() - t0),
    )


def _save(
    path: Path, st: _State, rng: np.random.Generator, problem: SearchProblem[G], pool: list[G], meta: dict[str, Any]
) -> None:
    write_json(
        path,
        {
            "version": CHECKPOINT_VERSION,
            "meta": meta,
            "iteration": st.iteration,
            "rng": rng.bit_generator.state,
            "pool": [problem.to_json(g) for g in pool],
            "fitness": st.fitness,
            "best": st.best_json,
            "best_key": st.best_key,
            "best_fitness": st.best_fitness,
            "stagnant": st.stagnant,
            "resets": st.resets,
            "evaluations": st.evaluations,
            "rejected": st.rejected,
            "elapsed_s": st.elapsed_s,
            "history": [asdict(r) for r in st.history],
            "hall": [list(t) for t in st.hall],
        },
        indent=None,
    )


def _resumable(meta: dict[str, Any]) -> dict[str, Any]:
    """The settings a resumed search must share with its checkpoint: all but the number of iterations,
    so that a finished search can be extended with more iterations."""
    out = dict(meta)
    if isinstance(out.get("config"), dict):
        out["config"] = {k: v for k, v in out["config"].items() if k != "iterations"}
    return out


def _load(
    path: Path, rng: np.random.Generator, problem: SearchProblem[G], meta: dict[str, Any]
) -> tuple[_State, list[G]]:
    data = read_json(path, "search checkpoint")
    if data.get("version") != CHECKPOINT_VERSION:
        raise SaswotError(f"checkpoint '{path}' has an unsupported version; delete it to start afresh")
    theirs, ours = _resumable(data.get("meta") or {}), _resumable(meta)
    if theirs != ours:
        differ = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
        raise SaswotError(
            f"checkpoint '{path}' was written by a search with different settings ({', '.join(differ)}: "
            f"{[theirs.get(k) for k in differ]} there vs {[ours.get(k) for k in differ]} now); use the same "
            "settings, another {out}, or delete it"
        )
    rng.bit_generator.state = data["rng"]
    fitness = {k: (None if v is None or isinstance(v, str) else float(v)) for k, v in data["fitness"].items()}
    st = _State(
        iteration=int(data["iteration"]),
        pool=[],
        fitness=fitness,
        best_json=data["best"],
        best_key=data["best_key"],
        best_fitness=float(data["best_fitness"]),
        stagnant=int(data["stagnant"]),
        resets=int(data["resets"]),
        evaluations=int(data["evaluations"]),
        rejected=int(data["rejected"]),
        elapsed_s=float(data["elapsed_s"]),
        history=[IterationRecord(**r) for r in data["history"]],
        hall=[(float(v), str(k), g) for v, k, g in data["hall"]],
    )
    pool = [problem.from_json(g) for g in data["pool"]]
    return st, pool


def _result(st: _State, problem: SearchProblem[G]) -> SearchResult[G]:
    if st.best_json is None:
        raise SaswotError("the search found no valid candidate")
    return SearchResult(
        best=problem.from_json(st.best_json),
        best_fitness=st.best_fitness,
        history=list(st.history),
        evaluations=st.evaluations,
        rejected=st.rejected,
        top=[(problem.from_json(g), v) for v, _, g in st.hall],
    )


def _new_state() -> _State:
    return _State(
        iteration=0,
        pool=[],
        fitness={},
        best_json=None,
        best_key="",
        best_fitness=-math.inf,
        stagnant=0,
        resets=0,
        evaluations=0,
        rejected=0,
        elapsed_s=0.0,
        history=[],
        hall=[],
    )
