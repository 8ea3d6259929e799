"""The proxy-search problem for the generic evolution engine (:mod:`saswot.search.evolution`).

Fitness of an expression = Kendall tau-b between its scores and the ground truth on a fixed set
of search architectures. A candidate is rejected (fitness ``None``) when it is illegal on the
layer shapes (checked on shapes alone, before any arithmetic), when any score is NaN/inf, or when
all scores are equal. A functional-equivalence cache (AutoML-Zero) first scores the candidate on
a few probe architectures; an expression whose rounded probe scores equal those of an
expression already evaluated reuses that fitness without touching the full set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sstats

from saswot.proxies.expr.expression import INPUTS, Expression, random_expression
from saswot.proxies.expr.primitives import AGGREGATIONS, BINARY_OPS, REDUCTIONS, UNARY_OPS
from saswot.search.statcache import ArchStats, PackedStats

#: Unary ops per branch in sampled genomes (SasWOT-minus needs 2 with noop).
DEFAULT_DEPTH = 2
#: Number of probe architectures of the functional-equivalence cache.
PROBE_ARCHS = 5
#: Significant digits of the probe scores used as the equivalence hash.
PROBE_DIGITS = 6


def kendall(scores: np.ndarray, truth: np.ndarray) -> float:
    """Kendall tau-b (NaN for constant input)."""
    if np.all(scores == scores[0]):
        return float("nan")
    return float(sstats.kendalltau(scores, truth).statistic)


def _round_sig(x: float, digits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, -math.floor(math.log10(abs(x))) + digits - 1)


class ProxySearchProblem:
    """Search space of tree expressions with Kendall-tau fitness on cached statistics.

    Args:
        archs: statistics of the search architectures.
        truth: ground-truth accuracy of each (same order).
        depth: unary ops per branch.
        probe_archs: how many of ``archs`` (the first ones) form the equivalence probe.
    """

    def __init__(
        self,
        archs: Sequence[ArchStats],
        truth: Sequence[float] | np.ndarray,
        depth: int = DEFAULT_DEPTH,
        probe_archs: int = PROBE_ARCHS,
    ) -> None:
        if len(archs) != len(truth) or len(archs) < 3:
            raise ValueError("need at least 3 search architectures with one ground truth each")
        self.packed = PackedStats(archs)
        self.truth = np.asarray(truth, dtype=np.float64)
        self.depth = depth
        self.probe = PackedStats(list(archs)[: max(1, min(probe_archs, len(archs)))])
        self._shapes = self.packed.layer_shapes()
        self._legal: dict[str, bool] = {}
        self.fec: dict[str, float | None] = {}
        self.fec_hits = 0
        self._unary = sorted(UNARY_OPS)
        self._binary = sorted(BINARY_OPS)

    # ------------------------------------------------------------------ genome operators

    def sample(self, rng: np.random.Generator) -> Expression:
        """A uniformly random expression."""
        return random_expression(rng, self.depth)

    def mutate(self, expr: Expression, rng: np.random.Generator) -> Expression:
        """Change one gene: a unary op, the binary op, an input, the reduction or aggregation."""
        n_unary = sum(len(b) for b in expr.unary)
        slots = n_unary + 1 + 2 + 2
        slot = int(rng.integers(slots))
        inputs, unary = list(expr.inputs), [list(b) for b in expr.unary]
        binary, reduce, aggregate = expr.binary, expr.reduce, expr.aggregate

        def other(choices: Sequence[str], current: str) -> str:
            rest = [c for c in choices if c != current]
            return rest[int(rng.integers(len(rest)))]

        if slot < n_unary:
            b, i = (0, slot) if slot < len(unary[0]) else (1, slot - len(unary[0]))
            unary[b][i] = other(self._unary, unary[b][i])
        elif slot == n_unary:
            binary = other(self._binary, binary)
        elif slot <= n_unary + 2:
            j = slot - n_unary - 1
            inputs[j] = other(INPUTS, inputs[j])
        elif slot == n_unary + 3:
            reduce = other(REDUCTIONS, reduce)
        else:
            aggregate = other(AGGREGATIONS, aggregate)
        return Expression(
            inputs=(inputs[0], inputs[1]),
            unary=(tuple(unary[0]), tuple(unary[1])),
            binary=binary,
            reduce=reduce,
            aggregate=aggregate,
        )

    def crossover(self, a: Expression, b: Expression, rng: np.random.Generator) -> Expression:
        """Uniform crossover: every gene (input, unary op, binary op, reduction) from a or b."""

        def pick(x: Any, y: Any) -> Any:
            return x if rng.random() < 0.5 else y

        unary = tuple(tuple(pick(ua, ub) for ua, ub in zip(a.unary[i], b.unary[i])) for i in range(2))
        return Expression(
            inputs=(pick(a.inputs[0], b.inputs[0]), pick(a.inputs[1], b.inputs[1])),
            unary=unary,  # type: ignore[arg-type]
            binary=pick(a.binary, b.binary),
            reduce=pick(a.reduce, b.reduce),
            aggregate=pick(a.aggregate, b.aggregate),
        )

    def key(self, expr: Expression) -> str:
        """Canonical string."""
        return expr.canonical()

    def is_valid(self, expr: Expression) -> bool:
        """Shape legality on every distinct layer shape of the search set (no arithmetic)."""
        k = expr.canonical()
        if k not in self._legal:
            self._legal[k] = expr.is_legal(self._shapes)
        return self._legal[k]

    # ------------------------------------------------------------------ fitness

    def probe_hash(self, expr: Expression) -> str | None:
        """Equivalence hash of the rounded probe scores; None if a probe score is NaN/inf."""
        p = self.probe.scores(expr)
        if not np.all(np.isfinite(p)):
            return None
        return ",".join(repr(_round_sig(float(v), PROBE_DIGITS)) for v in p)

    def scores(self, expr: Expression) -> np.ndarray:
        """Scores on every search architecture."""
        return self.packed.scores(expr)

    def evaluate(self, expr: Expression) -> float | None:
        """Kendall tau on the search set; None for NaN/inf/constant scores."""
        h = self.probe_hash(expr)
        if h is None:
            return None
        if h in self.fec:
            self.fec_hits += 1
            return self.fec[h]
        s = self.packed.scores(expr)
        if not np.all(np.isfinite(s)) or np.all(s == s[0]):
            value: float | None = None
        else:
            tau = kendall(s, self.truth)
            value = tau if math.isfinite(tau) else None
        self.fec[h] = value
        return value

    def to_json(self, expr: Expression) -> Any:
        """Canonical string."""
        return expr.canonical()

    def from_json(self, data: Any) -> Expression:
        """Parse a canonical string."""
        return Expression.from_json(data)

    # ------------------------------------------------------------------ persistence of the FEC

    def fec_state(self) -> dict[str, Any]:
        """JSON form of the equivalence cache (saved beside checkpoints so resume is exact)."""
        return {"fec": self.fec}

    def load_fec_state(self, data: dict[str, Any]) -> None:
        """Restore :meth:`fec_state`."""
        self.fec = {str(k): (None if v is None else float(v)) for k, v in data.get("fec", {}).items()}
