"""The benchmark read back: proxy scores of its architectures (:func:`score_bench_archs`), their
correlations with the trained mIoU, per-method rows (Table 4) and the seed-versus-architecture spread
of a noise study."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from saswot.config import SEGMENTER_BATCH, ProxyBatch
from saswot.datasets.proxy_batch import make_batch
from saswot.errors import CorruptDataError
from saswot.proxies import SENTINEL, resolve_proxies
from saswot.proxies._settings import ScoringSettings
from saswot.search.segmenter_scoring import ProxyScorer, calibrate_avt_for_space
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.builder import build_network
from saswot.spaces.fasterseg.decode import SpaceConfig
from saswot.spaces.fasterseg.problem import FasterSegProblem
from saswot.spaces.fasterseg.space import SPACE
from saswot.utils.correlation import correlations
from saswot.workflows.minibench.jobfile import (
    LABEL_SEP,
)
from saswot.workflows.score import score_architectures


def proxy_settings_json(batch: ProxyBatch, avt_samples: int) -> dict[str, Any]:
    """How the proxies were scored on the benchmark, as recorded in ``minibench rank`` results."""
    b = batch.to_json()
    return {
        **{k: b[k] for k in ("num_classes", "resolution", "batch_size", "seed", "data")},
        "avt_samples": avt_samples,
        "device": b["device"],
    }


def score_bench_archs(
    archs: Sequence[FasterSegArch],
    proxies: Sequence[Any],
    batch: ProxyBatch = SEGMENTER_BATCH,
    *,
    avt_samples: int = 20,
    data_root: str | None = None,
    progress: bool = True,
    failed: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Score every architecture with every proxy exactly as ``search-arch`` scores candidates.

    ``failed``, when given, receives ``{proxy: {arch key: reason}}`` of the scores that failed
    (a reason starting with ``n/a:``: the proxy raised an error on that network).

    Proxies without AVT share one statistics pass per network; each AVT proxy is calibrated on
    ``avt_samples`` seeded random legal architectures of the space (as ``search-arch``
    does) and scored in its own pass.

    Returns:
        ``({proxy: [score per arch]}, {proxy: AVT statistics JSON})``; failures are
        :data:`saswot.proxies.SENTINEL`.
    """
    specs = resolve_proxies(list(proxies))
    images, labels = make_batch(
        batch.data, batch.batch_size, batch.resolution, batch.num_classes, batch.seed, data_root
    )

    def build(a: FasterSegArch) -> Any:
        return build_network(a, batch.num_classes, seed=batch.seed)

    def run(group: list[Any], avt: Any, what: str) -> dict[str, list[float]]:
        per = score_architectures(
            list(archs),
            group,
            batch,
            build,
            key=lambda a: a.key(),
            avt=avt,
            images_labels=(images, labels),
            progress=progress,
            description=what,
        )
        if failed is not None:
            for a in archs:
                for name, reason in per[a.key()].failed.items():
                    failed.setdefault(name, {})[a.key()] = reason
        return {s.name: [per[a.key()].scores[s.name] for a in archs] for s in group}

    out: dict[str, list[float]] = {}
    avts: dict[str, Any] = {}
    plain = [s for s in specs if not s.needs_avt]
    if plain:
        out.update(run(plain, None, "proxies"))
    for spec in (s for s in specs if s.needs_avt):
        scorer = ProxyScorer(
            spec,
            SPACE,
            images,
            labels,
            # as in search-arch: the proxies' own random draws use seed 0
            ScoringSettings(batch.replace(seed=0)),
            init_seed=batch.seed,
        )
        problem = FasterSegProblem(SpaceConfig(), scorer, num_classes=batch.num_classes)
        avt = calibrate_avt_for_space(problem, scorer, avt_samples, batch.seed)
        avts[spec.name] = avt.to_json()
        out.update(run([spec], avt, spec.name))
    return {s.name: out[s.name] for s in specs}, avts


def bench_correlations(scores: dict[str, list[float]], truth: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Kendall / Spearman / Pearson of each proxy against ``truth`` over the architectures it scored.

    Architectures where a proxy failed (sentinel or non-finite) are left out of that proxy's
    correlation and counted in ``failed``.
    """

    y = np.asarray(truth, dtype=np.float64)
    out: dict[str, dict[str, Any]] = {}
    for name, vals in scores.items():
        x = np.asarray(vals, dtype=np.float64)
        ok = np.isfinite(x) & (x != SENTINEL)
        res: dict[str, Any] = {"n": int(ok.sum()), "failed": int((~ok).sum())}
        if ok.sum() >= 2:
            res.update(correlations(x[ok], y[ok]))
        else:
            res.update({"kendall": float("nan"), "spearman": float("nan"), "pearson": float("nan")})
        out[name] = res
    return out


def summarize_by_label(entries: Sequence[dict[str, Any]], recipe_id: str | None = None) -> list[dict[str, Any]]:
    """One row per label (e.g. per search method): mIoU mean, spread (max − min) and std over seeds.

    Rows keep the first-seen order of labels; params, GMACs and latency are the architecture's.
    An entry labelled ``a+b`` (one architecture found under two labels) counts for ``a`` and ``b``.
    """
    rows: dict[str, dict[str, Any]] = {}
    for e in entries:
        if (recipe_id is not None and e["recipe_id"] != recipe_id) or e.get("miou") is None:
            continue
        for label in str(e["label"]).split(LABEL_SEP):
            r = rows.setdefault(
                label,
                {
                    "label": label,
                    "key": e["key"],
                    "mious": [],
                    "seeds": [],
                    "params_m": e["params_m"],
                    "gmacs": e["gmacs"],
                    "latency_ms": e.get("latency_ms"),
                    "train_wall_s": [],
                },
            )
            if r["key"] != e["key"]:
                raise CorruptDataError(f"label '{label}' names two architectures; labels must be unique per file")
            r["mious"].append(float(e["miou"]))
            r["seeds"].append(int(e["seed"]))
            r["train_wall_s"].append(float(e["wall_s"]))
    for r in rows.values():
        m = np.asarray(r["mious"])
        r.update(miou_mean=float(m.mean()), miou_spread=float(m.max() - m.min()), miou_std=float(m.std()))
    return list(rows.values())


def noise_summary(rows: Sequence[dict[str, Any]]) -> dict[str, float] | None:
    """Seed-to-seed spread against the spread across architectures (rows of :func:`summarize_by_label`).

    Returns ``None`` unless at least two architectures have at least two seeds each. Keys:
    ``seed_spread_mean`` / ``seed_spread_max`` (max − min over an architecture's seeds),
    ``arch_range`` (max − min of the architectures' mean mIoU), ``seed_sd`` (pooled within-arch
    standard deviation, ddof 1), ``arch_sd`` (standard deviation of the means, ddof 1) and
    ``between_fraction`` (share of the variance of single runs explained by the architecture,
    one-way random-effects estimate, clipped to [0, 1]).
    """
    multi = [r for r in rows if len(r["mious"]) >= 2]
    if len(multi) < 2:
        return None
    spreads = [r["miou_spread"] for r in multi]
    means = np.asarray([r["miou_mean"] for r in multi])
    within = [np.var(r["mious"], ddof=1) for r in multi]
    seed_var = float(np.mean(within))
    n_per = float(np.mean([len(r["mious"]) for r in multi]))
    between = max(0.0, float(np.var(means, ddof=1)) - seed_var / n_per)
    return {
        "archs": len(multi),
        "seed_spread_mean": float(np.mean(spreads)),
        "seed_spread_max": float(np.max(spreads)),
        "arch_range": float(means.max() - means.min()),
        "seed_sd": float(np.sqrt(seed_var)),
        "arch_sd": float(np.std(means, ddof=1)),
        "between_fraction": between / (between + seed_var) if between + seed_var > 0 else float("nan"),
    }
