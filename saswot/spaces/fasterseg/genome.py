"""Genome of the FasterSeg space: α and β logit matrices (+ widths).

* ``alpha[j]`` – op logits of grid row j (scale 1/8, 1/16, 1/32): 16×5, 15×5, 14×5; the row of
  grid cell (j, i) is ``i - j``; columns follow :data:`~saswot.spaces.fasterseg.ops.PRIMITIVES`.
* ``beta[0]``, ``beta[1]`` – path logits of rows 1 and 2 (β1 14×2, β2 13×2), columns
  [from-down, keep]; row of grid cell (j, i) is ``i - j - 1``.
* ``ratio`` – only when widths are searched: width logits of grid rows 0, 1, 2 (15×5, 15×5, 14×5);
  the entry of grid cell (j, i) sets the *input* width of that cell (row ``i - 1`` for j ≤ 1,
  ``i - 2`` for j = 2). Otherwise the widths come from the space's fixed width grid.

Genomes are immutable values (nested tuples of floats) so they can be hashed and cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from saswot.errors import InvalidArchError
from saswot.spaces.fasterseg.grid import PRIMITIVES, WIDTH_CHOICES

N_LAYERS = 16
ALPHA_SHAPES: tuple[tuple[int, int], ...] = ((16, 5), (15, 5), (14, 5))
BETA_SHAPES: tuple[tuple[int, int], ...] = ((14, 2), (13, 2))
RATIO_SHAPES: tuple[tuple[int, int], ...] = ((15, 5), (15, 5), (14, 5))

Matrix = tuple[tuple[float, ...], ...]


def _freeze(a: np.ndarray) -> Matrix:
    return tuple(tuple(float(v) for v in row) for row in a)


@dataclass(frozen=True)
class Genome:
    """α, β (and optionally width) logits; see the module docstring."""

    alpha: tuple[Matrix, Matrix, Matrix]
    beta: tuple[Matrix, Matrix]
    ratio: tuple[Matrix, Matrix, Matrix] | None = None

    def arrays(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray] | None]:
        """α, β and ratio as numpy arrays."""
        ratio = [np.asarray(r) for r in self.ratio] if self.ratio is not None else None
        return [np.asarray(a) for a in self.alpha], [np.asarray(b) for b in self.beta], ratio

    def to_json(self) -> dict[str, Any]:
        """JSON form (lists of lists)."""
        d: dict[str, Any] = {
            "alpha": [list(map(list, a)) for a in self.alpha],
            "beta": [list(map(list, b)) for b in self.beta],
        }
        if self.ratio is not None:
            d["ratio"] = [list(map(list, r)) for r in self.ratio]
        return d

    @classmethod
    def from_json(cls, d: Any) -> Genome:
        """Inverse of :meth:`to_json` (shapes checked)."""
        try:
            alpha = [np.asarray(a, dtype=float) for a in d["alpha"]]
            beta = [np.asarray(b, dtype=float) for b in d["beta"]]
            ratio = [np.asarray(r, dtype=float) for r in d["ratio"]] if d.get("ratio") is not None else None
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InvalidArchError(f"malformed FasterSeg genome ({exc}); expected 'alpha', 'beta' lists") from exc
        return from_arrays(alpha, beta, ratio)


def from_arrays(alpha: list[np.ndarray], beta: list[np.ndarray], ratio: list[np.ndarray] | None = None) -> Genome:
    """Build a :class:`Genome` from arrays, checking every shape."""
    _check("alpha", alpha, ALPHA_SHAPES)
    _check("beta", beta, BETA_SHAPES)
    if ratio is not None:
        _check("ratio", ratio, RATIO_SHAPES)
    return Genome(
        alpha=tuple(_freeze(a) for a in alpha),  # type: ignore[arg-type]
        beta=tuple(_freeze(b) for b in beta),  # type: ignore[arg-type]
        ratio=tuple(_freeze(r) for r in ratio) if ratio is not None else None,  # type: ignore[arg-type]
    )


def _check(name: str, mats: list[np.ndarray], shapes: tuple[tuple[int, int], ...]) -> None:
    if len(mats) != len(shapes) or any(m.shape != s for m, s in zip(mats, shapes)):
        got = [tuple(m.shape) for m in mats]
        raise InvalidArchError(f"genome '{name}' matrices must have shapes {list(shapes)} (got {got})")
    if any(not np.all(np.isfinite(m)) for m in mats):
        raise InvalidArchError(f"genome '{name}' holds non-finite logits")


def random_matrix(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Logits drawn i.i.d. from N(0, 1)."""
    return rng.standard_normal(shape)


def sample_genome(rng: np.random.Generator, with_ratio: bool = False) -> Genome:
    """A random genome (all logits N(0, 1))."""
    alpha = [random_matrix(s, rng) for s in ALPHA_SHAPES]
    beta = [random_matrix(s, rng) for s in BETA_SHAPES]
    ratio = [random_matrix(s, rng) for s in RATIO_SHAPES] if with_ratio else None
    return from_arrays(alpha, beta, ratio)


def mutate_genome(genome: Genome, rng: np.random.Generator, rows: int = 1) -> Genome:
    """Redraw ``rows`` random rows of one randomly chosen α, β or ratio matrix."""
    alpha, beta, ratio = genome.arrays()
    groups: list[list[np.ndarray]] = [alpha, beta] + ([ratio] if ratio is not None else [])
    group = groups[int(rng.integers(len(groups)))]
    mat = group[int(rng.integers(len(group)))]
    for r in rng.choice(mat.shape[0], size=min(rows, mat.shape[0]), replace=False):
        mat[int(r)] = rng.standard_normal(mat.shape[1])
    return from_arrays(alpha, beta, ratio)


def crossover_genomes(a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
    """Child with α (and widths) from one parent and β from the other (order drawn at random)."""
    first, second = (a, b) if rng.random() < 0.5 else (b, a)
    return Genome(alpha=first.alpha, beta=second.beta, ratio=first.ratio)


#: Fixed width grid of the released FasterSeg student (widths fixed, not searched): χ of the *input*
#: of grid cell (j, i), as ``{j: [χ for i = first .. 15]}`` with first = 1, 1, 2.
FASTERSEG_WIDTH_GRID: dict[int, tuple[int, ...]] = {
    0: (4,) * 14 + (12,),
    1: (12, 8, 6, 4, 10, 10, 4, 4, 4, 8, 4, 4, 4, 4, 12),
    2: (10, 4, 10, 8, 4, 6) + (4,) * 8,
}


def uniform_width_grid(chi: int) -> dict[int, tuple[int, ...]]:
    """A width grid with the same χ everywhere."""
    if chi not in WIDTH_CHOICES:
        raise InvalidArchError(f"width χ must be one of {WIDTH_CHOICES} (got {chi})")
    return {0: (chi,) * 15, 1: (chi,) * 15, 2: (chi,) * 14}


def ratio_to_width_grid(ratio: list[np.ndarray]) -> dict[int, tuple[int, ...]]:
    """Width grid from ratio logits (argmax per row)."""
    return {j: tuple(WIDTH_CHOICES[int(np.argmax(row))] for row in r) for j, r in enumerate(ratio)}


def width_of(grid: dict[int, tuple[int, ...]], j: int, i: int) -> int:
    """χ of the input of grid cell (j, i) (i ≥ max(1, j))."""
    return grid[j][i - (2 if j == 2 else 1)]


__all__ = [
    "ALPHA_SHAPES",
    "BETA_SHAPES",
    "FASTERSEG_WIDTH_GRID",
    "N_LAYERS",
    "PRIMITIVES",
    "RATIO_SHAPES",
    "Genome",
    "crossover_genomes",
    "from_arrays",
    "mutate_genome",
    "ratio_to_width_grid",
    "sample_genome",
    "uniform_width_grid",
    "width_of",
]
