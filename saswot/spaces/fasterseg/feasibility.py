"""Is a budget achievable? The cheapest network of the FasterSeg space at a resolution.

A segmenter search under a budget that no network of the space meets would draw random
candidates for minutes before giving up. :func:`check_budget` answers before any statistics
pass: it looks for the cheapest legal network (GMACs, or LUT latency for a latency budget) by
sampling the space and then improving the cheapest sample by mutations that keep lowering the
cost, and rejects a budget below it, naming the cost found. The cost computations are analytic
(GMACs) or table look-ups (latency), a few milliseconds per network, so this takes seconds.

The search is a heuristic: the cost it reports is achievable (a real network of the space has
it), and a budget below it is rejected with that figure. The true minimum may be slightly lower.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from saswot.errors import SaswotError
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.decode import legality_errors
from saswot.spaces.fasterseg.genome import Genome
from saswot.spaces.fasterseg.problem import FasterSegProblem


@dataclass(frozen=True)
class CheapestNetwork:
    """The cheapest network found.

    Attributes:
        metric: ``gmacs`` or ``latency_ms``.
        value: its cost in that metric.
        arch: the network.
        evaluated: networks whose cost was computed.
    """

    metric: str
    value: float
    arch: FasterSegArch
    evaluated: int


def cheapest_network(
    problem: FasterSegProblem,
    metric: str = "gmacs",
    seed: int = 0,
    samples: int = 300,
    steps: int = 400,
    stop_at: float | None = None,
) -> CheapestNetwork:
    """Search the cheapest legal network of ``problem``'s space at its target resolution.

    Args:
        problem: a :class:`saswot.spaces.fasterseg.problem.FasterSegProblem` (its budget is ignored here).
        metric: ``gmacs`` or ``latency_ms`` (needs the problem's latency table).
        seed: seed of the sampling and the mutations.
        samples: random networks drawn first.
        steps: mutations of the cheapest network so far, each kept if it is legal and not dearer.
        stop_at: return as soon as a network costs at most this much (enough to show a budget is met).

    Raises:
        SaswotError: no legal network was drawn at all.
    """

    rng = np.random.default_rng([seed, 7])
    space = problem.space

    def cost(genome: Genome) -> float | None:
        arch = problem.decode(genome)
        if legality_errors(arch, space.min_shared):
            return None
        if metric == "latency_ms":
            return float(problem.latency(arch))
        return float(problem.cost(arch)["gmacs"])  # type: ignore[arg-type]  # gmacs is always set

    best: Genome | None = None
    best_cost = float("inf")
    evaluated = 0
    for _ in range(samples):
        g = problem.sample(rng)
        c = cost(g)
        evaluated += 1
        if c is not None and c < best_cost:
            best, best_cost = g, c
            if stop_at is not None and best_cost <= stop_at:
                return CheapestNetwork(metric, best_cost, problem.decode(best), evaluated)
    if best is None:
        raise SaswotError(f"no legal network in {samples} samples of the space; check the space settings")
    for _ in range(steps):
        child = problem.mutate(best, rng)
        c = cost(child)
        evaluated += 1
        if c is not None and c <= best_cost:
            best, best_cost = child, c
            if stop_at is not None and best_cost <= stop_at:
                break
    return CheapestNetwork(metric, best_cost, problem.decode(best), evaluated)


def check_budget(
    problem: FasterSegProblem, seed: int = 0, on_note: Callable[[str], None] | None = None
) -> CheapestNetwork | None:
    """Reject a budget below the cheapest network found; note an unconstrained search.

    Args:
        problem: a :class:`saswot.spaces.fasterseg.problem.FasterSegProblem` with its budget.
        seed: seed of the cheapest-network search.
        on_note: receives a one-line note when there is no budget.

    Returns:
        A network within the budget (None without a budget).

    Raises:
        SaswotError: the budget is below that network's cost (the message gives the cost).
    """
    budget = problem.budget
    h, w = budget.target_resolution
    if budget.max_gmacs is None and budget.max_latency_ms is None:
        if on_note is not None:
            on_note("no budget given ({max_gmacs} or {max_latency_ms}): the search is unconstrained")
        return None
    for flag, value in (("{max_gmacs}", budget.max_gmacs), ("{max_latency_ms}", budget.max_latency_ms)):
        if value is not None and value <= 0:
            raise SaswotError(f"{flag} must be positive (got {value:g})")
    metric, limit, option, unit = (
        ("gmacs", budget.max_gmacs, "{max_gmacs}", "GMACs")
        if budget.max_gmacs is not None
        else ("latency_ms", budget.max_latency_ms, "{max_latency_ms}", "ms")
    )
    cheapest = cheapest_network(problem, metric, seed, stop_at=limit)
    if limit is not None and limit < cheapest.value:
        raise SaswotError(
            f"{option} {limit:g} is below the cheapest network of the space at {h}x{w}: {cheapest.value:.4g} {unit} "
            f"(the cheapest of {cheapest.evaluated} networks sampled and improved by mutation); raise the budget to "
            f"at least {cheapest.value:.4g} {unit} (a budget close to it leaves few candidates)"
        )
    return cheapest
