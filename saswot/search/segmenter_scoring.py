"""Proxy scoring of a segmenter search, whatever the space: the fitness (:class:`ProxyScorer`) and
the calibrations done on seeded random legal architectures of the space before a search
(AVT min/max of the proxy's terms, paper Eq. 4; an ensemble's member normalisation).

The space gives the search problem (:class:`saswot.spaces.base.SegmenterProblem`); nothing here
names a space.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from saswot.errors import ScoreError
from saswot.proxies import SENTINEL, ScoreReport, resolve_proxy, score_network_detailed
from saswot.proxies._avt import calibrate_avt
from saswot.proxies._ensemble import EnsembleCalibration, member_names
from saswot.proxies._settings import ScoringSettings
from saswot.runtime.allocator import collect_on_exit
from saswot.runtime.parallel import Executor, SerialExecutor
from saswot.spaces.base import SearchSpace, SegmenterProblem


class ProxyScorer:
    """Scores a decoded network with one proxy on random-init weights and a fixed batch.

    Args:
        proxy: a proxy name or proxy JSON path (resolved by :func:`saswot.proxies.resolve_proxy`).
        space: the search space that builds the scored networks.
        images, labels: the proxy batch (N×3×H×W, N×H×W).
        settings: the scoring settings (classes of the built networks, device, AVT statistics for
            proxies that need them; ``settings.seed`` seeds the proxies' own random draws).
        init_seed: weight-initialisation seed used for every network (same seed → same score).
    """

    def __init__(
        self,
        proxy: Any,
        space: SearchSpace,
        images: torch.Tensor,
        labels: torch.Tensor,
        settings: ScoringSettings,
        *,
        init_seed: int = 0,
    ) -> None:
        self.spec = resolve_proxy(proxy)
        self.space = space
        self.images, self.labels = images, labels
        self.settings = settings
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

    def report(self, arch: Any, proxies: list[Any]) -> ScoreReport:
        """Scores of several proxies (one statistics pass) and the proxies that failed, with why."""

        # Free the network, its gradients and any hook closures on leaving: a long search must not
        # keep one candidate's activations alive until the next cyclic garbage collection (the
        # collection skips the long-lived objects, saswot.runtime.allocator).
        with collect_on_exit():
            net = self.space.build(arch, num_classes=self.settings.num_classes, seed=self.init_seed)
            report = score_network_detailed(net, self.images, self.labels, proxies, self.settings)
            del net
        return report

    def scores(self, arch: Any, proxies: list[Any]) -> dict[str, float]:
        """Raw scores of several proxies (one statistics pass; a failed one is the sentinel)."""
        return self.report(arch, proxies).scores

    def score_or_reason(self, arch: Any) -> tuple[float | None, str | None]:
        """``(score, None)``, or ``(None, reason)`` when the proxy failed on the network (raised an
        error there, or gave a non-finite value, which the report lists with the sentinel)."""
        report = self.report(arch, [self.spec])
        reason = report.failed.get(self.spec.name)
        if reason is not None:
            return None, reason
        return float(report.scores[self.spec.name]), None

    def __call__(self, arch: Any) -> float | None:
        """The proxy score, or None if the proxy failed (non-finite / sentinel)."""
        value = self.score_or_reason(arch)[0]
        return None if value is None or value == SENTINEL else value


def _score_terms(shared: tuple[ProxyScorer, list[str]], arch: Any) -> dict[str, float]:
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
    problem: SegmenterProblem,
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

    rng = np.random.default_rng([seed, 7])
    keys: set[str] = set()
    drawn: list[Any] = []
    tries = 0
    while len(drawn) < n and tries < 100 * n:
        tries += 1
        arch = problem.decode(problem.sample(rng))
        if arch.key() in keys or not problem.legal(arch):
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


def _calibration_meta(problem: SegmenterProblem, archs: list[str], seed: int) -> dict[str, Any]:
    return {
        "space": problem.space_name,
        "n": len(archs),
        "seed": seed,
        "space_config": problem.describe(),
    }


def calibrate_avt_for_space(
    problem: SegmenterProblem,
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

    names = list(avt_components(scorer.spec))
    archs, scored = sample_and_score(problem, scorer, names, n, seed, on_step, executor)
    return calibrate_avt({p: [s[p] for s in scored] for p in names}, _calibration_meta(problem, archs, seed))


def calibrate_ensemble_for_space(
    problem: SegmenterProblem,
    scorer: ProxyScorer,
    ensemble: Any,
    n: int,
    seed: int,
    on_step: Callable[[], None] | None = None,
    executor: Executor | None = None,
) -> Any:
    """The :class:`~saswot.proxies._ensemble.EnsembleCalibration` of an ensemble's members over ``n``
    seeded random legal architectures of the space (:func:`sample_and_score`), scored with
    ``scorer``'s batch and settings — the stored normalisation that lets the ensemble score one
    network at a time during the search.

    Raises:
        ScoreError: a worker died twice on one of the networks, or a member never gave a finite score.
    """

    written = member_names([ensemble])
    specs = {w: resolve_proxy(w) for w in written}
    archs, scored = sample_and_score(
        problem, scorer, list(specs.values()), n, seed, on_step, executor, what="ensemble calibration"
    )
    values = {w: [s[spec.name] for s in scored] for w, spec in specs.items()}
    meta = {**_calibration_meta(problem, archs, seed), "archs": archs, "ensemble": ensemble.name}
    return EnsembleCalibration.fit(values, meta)
