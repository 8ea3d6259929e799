"""Genome → decoded network (FasterSeg's ``network_metas`` rules) and legality.

Per branch (``last`` ∈ {0, 1, 2}):

1. raw path of 16 positions from β (softmax, P_d = probability of "from down"); ``path[t]`` is
   the input scale of raw cell t and ``down[t] = path[t+1] - path[t]``:
   last 1: ``k = 1 + argmax P_d(β1 rows 1..12)``, ``down[k] = 1`` (FasterSeg's off-by-one kept);
   last 2: maximise ``P_d(β1[i]) · P_d(β2[j])`` over 0 ≤ j ≤ 11, 1 ≤ i ≤ j − 2, then
   ``down[i+1] = down[j+2] = 1`` (so 3 ≤ e1, e1 + 3 ≤ e2 ≤ 14);
2. widths: output χ of raw cell l = width-grid entry of grid cell (path[l+1], l+1);
3. ops = argmax α of grid cell (path[t], t); skip pruning: a skip at a down cell becomes the best
   non-skip op; a post-down segment made only of skips keeps its least-likely skip as the best
   non-skip op; at most ``16 − min_len`` remaining skips (highest skip probability first) are
   deleted, the rest become the best non-skip op; min_len = 5 + 2·last;
4. compaction: deleted cells and their widths go; the last kept cell outputs the head width.

Ties are broken by the lowest index (numpy ``argmax``), which makes decoding deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from saswot.errors import InvalidArchError
from saswot.spaces.fasterseg.arch import Branch, FasterSegArch
from saswot.spaces.fasterseg.genome import (
    FASTERSEG_WIDTH_GRID,
    N_LAYERS,
    Genome,
    ratio_to_width_grid,
    uniform_width_grid,
    width_of,
)
from saswot.spaces.fasterseg.grid import PRIMITIVES

SKIP = 0


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def min_length(last: int) -> int:
    """Minimum number of kept cells of a branch ending at ``last`` (5 / 7 / 9)."""
    return round(N_LAYERS / 3) + 2 * last


@dataclass(frozen=True)
class SpaceConfig:
    """Settings of the searchable space.

    Attributes:
        lasts: final scales of the branches (FasterSeg/SasWOT: (2, 1), i.e. 1/32 + 1/16).
        widths: ``"fasterseg"`` (fixed: the released student's width grid — our reading of
            SasWOT's "fixes the pruning rate"), ``"uniform<χ>"`` (e.g. ``uniform4``: every width
            χ/12) or ``"search"`` (width logits are part of the genome).
        min_shared: minimum number of cells shared by the two branches (SasWOT: "share three
            operators" → 3; 0 disables the check).
        stem_width: stem χ (8 = 8/12 as the student).
        head_width: head χ.
    """

    lasts: tuple[int, ...] = (2, 1)
    widths: str = "fasterseg"
    min_shared: int = 0
    stem_width: int = 8
    head_width: int = 8
    _grid: dict[int, tuple[int, ...]] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.lasts or len(set(self.lasts)) != len(self.lasts) or any(l not in (0, 1, 2) for l in self.lasts):
            raise InvalidArchError(f"lasts must be distinct values from {{0, 1, 2}} (got {self.lasts})")
        if len(self.lasts) > 2:
            raise InvalidArchError("at most two branches")
        object.__setattr__(self, "_grid", self._fixed_grid())

    def _fixed_grid(self) -> dict[int, tuple[int, ...]] | None:
        if self.widths == "fasterseg":
            return FASTERSEG_WIDTH_GRID
        if self.widths == "search":
            return None
        if self.widths.startswith("uniform"):
            try:
                chi = int(self.widths[len("uniform") :])
            except ValueError:
                chi = -1
            return uniform_width_grid(chi)
        raise InvalidArchError(
            f"unknown width policy '{self.widths}': use 'fasterseg', 'uniform4'..'uniform12' or 'search'"
        )

    @property
    def searches_widths(self) -> bool:
        """True if the genome carries width logits."""
        return self._grid is None

    def width_grid(self, genome: Genome) -> dict[int, tuple[int, ...]]:
        """The χ grid used to decode ``genome``."""
        if self._grid is not None:
            return self._grid
        if genome.ratio is None:
            raise InvalidArchError("this space searches widths but the genome has no 'ratio' matrices")
        return ratio_to_width_grid([np.asarray(r) for r in genome.ratio])


def raw_path(beta: list[np.ndarray], last: int) -> list[int]:
    """The 16 raw input scales of a branch ending at ``last`` (step 1)."""
    down = [0] * N_LAYERS
    if last >= 1:
        pd1 = _softmax(beta[0])[:, 0]
    if last == 1:
        k = 1 + int(np.argmax(pd1[1:13]))
        down[k] = 1
    elif last == 2:
        pd2 = _softmax(beta[1])[:, 0]
        best, bi, bj = -1.0, -1, -1
        for j in range(12):
            for i in range(1, j - 1):
                v = float(pd1[i] * pd2[j])
                if v > best:
                    best, bi, bj = v, i, j
        down[bi + 1] = 1
        down[bj + 2] = 1
    path = [0]
    for t in range(N_LAYERS - 1):
        path.append(path[-1] + down[t])
    return path


def decode_branch(genome: Genome, last: int, grid: dict[int, tuple[int, ...]]) -> Branch:
    """Decode one branch (steps 1–4 of the module docstring)."""
    alpha, beta, _ = genome.arrays()
    path = raw_path(beta, last)
    probs = [_softmax(alpha[path[t]][t - path[t]]) for t in range(N_LAYERS)]
    is_down = [t < N_LAYERS - 1 and path[t + 1] > path[t] for t in range(N_LAYERS)]
    widths = [width_of(grid, path[l + 1], l + 1) for l in range(N_LAYERS - 1)]
    ops = [int(np.argmax(p)) for p in probs]
    best_non_skip = [1 + int(np.argmax(p[1:])) for p in probs]
    for t in range(N_LAYERS):
        if is_down[t] and ops[t] == SKIP:
            ops[t] = best_non_skip[t]
    downs = [t for t in range(N_LAYERS) if is_down[t]]
    for n, d in enumerate(downs):
        end = downs[n + 1] if n + 1 < len(downs) else N_LAYERS
        seg = list(range(d + 1, end))
        if seg and all(ops[t] == SKIP for t in seg):
            t = min(seg, key=lambda t: (probs[t][SKIP], t))
            ops[t] = best_non_skip[t]
    candidates = [t for t in range(N_LAYERS) if ops[t] == SKIP]
    n_remove = min(len(candidates), N_LAYERS - min_length(last))
    removed = set(sorted(candidates, key=lambda t: (-probs[t][SKIP], t))[:n_remove])
    for t in candidates:
        if t not in removed:
            ops[t] = best_non_skip[t]
    keep = [t for t in range(N_LAYERS) if t not in removed]
    return Branch(
        last=last,
        ops=tuple(PRIMITIVES[ops[t]] for t in keep),
        path=tuple(path[t] for t in keep),
        widths=tuple(widths[t] for t in keep[:-1]),
    )


def decode(genome: Genome, space: SpaceConfig) -> FasterSegArch:
    """Decode a genome into a network (branches ordered as ``space.lasts``)."""
    grid = space.width_grid(genome)
    branches = tuple(decode_branch(genome, last, grid) for last in space.lasts)
    return FasterSegArch(branches, space.stem_width, space.head_width)


def legality_errors(arch: FasterSegArch, min_shared: int = 0) -> list[str]:
    """Violations of the decoder's legality rules; empty if legal.

    Structural rules (the final scales, the shared prefix of equal ops, no skip) are already
    enforced by :class:`FasterSegArch`; this adds: a stride-1 cell after every down cell, the minimum length 5/7/9 and the shared prefix.
    """
    errors = []
    for b in arch.branches:
        n = len(b.ops)
        if n < min_length(b.last):
            errors.append(f"branch last={b.last}: {n} cells < minimum {min_length(b.last)}")
        for i in range(n - 2):
            if b.path[i + 1] > b.path[i] and b.path[i + 2] > b.path[i + 1]:
                errors.append(f"branch last={b.last}: no stride-1 cell between the down cells {i} and {i + 1}")
    if len(arch.branches) == 2 and arch.shared_prefix() < min_shared:
        errors.append(f"shared prefix {arch.shared_prefix()} < required {min_shared}")
    return errors
