"""The job list of a benchmark run: K legal architectures under a GMACs budget, seeded and
stratified over GMACs (:func:`sample_archs`), times the training seeds (:class:`Job`), in an order
that covers small and large networks early (:func:`spread_order`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from saswot.errors import SaswotError
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.cost import arch_cost
from saswot.spaces.fasterseg.decode import SpaceConfig, decode, legality_errors
from saswot.spaces.fasterseg.genome import sample_genome
from saswot.workflows.minibench.recipe import (
    BUDGET_CLASSES,
    DEFAULT_MAX_GMACS,
    DEFAULT_TARGET,
    Recipe,
)


# ----------------------------------------------------------------------------- sampling
def sample_archs(
    k: int,
    seed: int,
    *,
    max_gmacs: float | None = DEFAULT_MAX_GMACS,
    target: tuple[int, int] = DEFAULT_TARGET,
    space: SpaceConfig | None = None,
    pool_factor: int = 8,
    max_draws: int = 500_000,
) -> list[FasterSegArch]:
    """K distinct legal architectures under the budget, stratified over GMACs.

    A pool of ``k × pool_factor`` distinct legal, budget-feasible architectures is drawn from
    random genomes (generator seeded with ``seed``), sorted by GMACs (at ``target``, 19 classes,
    as the ``search-arch`` budget) and cut into ``k`` equal-count strata; one architecture is
    drawn from each stratum. The result is sorted by GMACs, smallest first.

    Raises:
        SaswotError: ``k < 1``, or the budget admits too few architectures within ``max_draws``.
    """
    if k < 1 or pool_factor < 1:
        raise SaswotError(f"k and pool_factor must be at least 1 (got {k}, {pool_factor})")
    space = space or SpaceConfig()
    rng = np.random.default_rng(seed)
    pool: dict[str, tuple[float, FasterSegArch]] = {}
    want = k * pool_factor
    for _ in range(max_draws):
        if len(pool) >= want:
            break
        arch = decode(sample_genome(rng, with_ratio=space.searches_widths), space)
        if legality_errors(arch, space.min_shared):
            continue
        g = arch_cost(arch, target, BUDGET_CLASSES).gmacs
        if max_gmacs is not None and g > max_gmacs:
            continue
        pool.setdefault(arch.key(), (g, arch))
    if len(pool) < k:
        raise SaswotError(
            f"only {len(pool)} distinct architectures under {max_gmacs} GMACs in {max_draws} draws; "
            "raise {max_gmacs} or lower K"
        )
    items = sorted(pool.values(), key=lambda t: (t[0], t[1].key()))
    strata = np.array_split(np.arange(len(items)), k)
    chosen = [items[int(rng.choice(s))] for s in strata]
    return [a for _, a in sorted(chosen, key=lambda t: (t[0], t[1].key()))]


def arch_costs(
    arch: FasterSegArch, num_classes: int = 11, resolution: tuple[int, int] = (360, 480)
) -> dict[str, float]:
    """Params (M) and GMACs of ``arch`` at the budget's frame and at the training dataset's frame."""
    budget = arch_cost(arch, DEFAULT_TARGET, BUDGET_CLASSES)
    local = arch_cost(arch, resolution, num_classes)
    return {
        "params_m": budget.params_m,
        "gmacs": budget.gmacs,
        f"params_m_{num_classes}cls": local.params_m,
        f"gmacs_{resolution[0]}x{resolution[1]}": local.gmacs,
    }


# ----------------------------------------------------------------------------- jobs
def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", text).strip("_") or "arch"


@dataclass(frozen=True)
class Job:
    """One training run: an architecture, a label for it and a training seed."""

    label: str
    arch: FasterSegArch = field(compare=False)
    seed: int = 0

    @property
    def key(self) -> str:
        """Canonical key of the architecture."""
        return self.arch.key()

    def job_id(self, recipe: Recipe) -> str:
        """Folder/claim name: label, seed and a hash of (arch key, recipe id, seed)."""
        h = hashlib.sha256(f"{self.key}|{recipe.recipe_id}|{self.seed}".encode()).hexdigest()[:10]
        return f"{_safe(self.label)[:60]}-s{self.seed}-{h}"


#: Separates the labels of one architecture that was given under several labels.
LABEL_SEP = "+"


def make_jobs(archs: Sequence[tuple[str, FasterSegArch]], seeds: Sequence[int]) -> list[Job]:
    """Jobs for every (label, arch) × seed, seed-major (all archs with the first seed first).

    An architecture given under several labels (e.g. two searches that found the same network)
    is trained once per seed, labelled ``label1+label2`` (:func:`summarize_by_label` reports it
    under each label).

    Raises:
        SaswotError: no architecture or no seed, or a label containing ``+``.
    """
    if not archs or not seeds:
        raise SaswotError("nothing to train: give at least one architecture and one seed")
    merged: dict[str, tuple[list[str], FasterSegArch]] = {}
    for label, arch in archs:
        if LABEL_SEP in label:
            raise SaswotError(f"label '{label}' may not contain '{LABEL_SEP}'")
        merged.setdefault(arch.key(), ([], arch))[0].append(label)
    return [Job(LABEL_SEP.join(labels), arch, int(s)) for s in seeds for labels, arch in merged.values()]


def spread_order(n: int) -> list[int]:
    """0..n-1 in van der Corput order (0, n/2, n/4, 3n/4, ...): every prefix spans the whole range."""
    order: list[int] = []
    seen: set[int] = set()
    j = 0
    while len(order) < n:
        v, f, m = 0.0, 0.5, j
        while m:
            v += f * (m & 1)
            m >>= 1
            f /= 2
        i = min(n - 1, int(v * n))
        if i not in seen:
            seen.add(i)
            order.append(i)
        j += 1
        if j > 64 * n:  # cannot happen for n >= 1; guards the loop
            order += [i for i in range(n) if i not in seen]
    return order


def sampled_jobs(
    k: int,
    sample_seed: int,
    seeds: Sequence[int],
    *,
    max_gmacs: float | None = DEFAULT_MAX_GMACS,
    space: SpaceConfig | None = None,
    pool_factor: int = 8,
) -> list[Job]:
    """Jobs of :func:`sample_archs`, labelled ``g<sample_seed>-<GMACs rank>``.

    They are ordered by :func:`spread_order` over the GMACs ranks, so that a partly finished
    benchmark already covers small and large networks.
    """
    archs = sample_archs(k, sample_seed, max_gmacs=max_gmacs, space=space, pool_factor=pool_factor)
    return make_jobs([(f"g{sample_seed}-{i:03d}", archs[i]) for i in spread_order(len(archs))], seeds)
