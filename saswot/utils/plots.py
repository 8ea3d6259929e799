"""Figures: a proxy's scores against ground truth (paper Fig. 3) and search curves (paper Fig. 4).

Figures are drawn on :class:`matplotlib.figure.Figure` objects and written with their own
canvas, so plotting neither selects a matplotlib backend nor touches pyplot's global state: a
library user's notebook keeps its backend and open figures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from saswot.utils.io import atomic_path


def _figure(size: tuple[float, float], dpi: int = 120) -> Any:
    """A matplotlib Figure that is not registered with pyplot."""

    return Figure(figsize=size, dpi=dpi)


def _save(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` atomically (format from the suffix, PNG by default)."""
    target = Path(path)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format=target.suffix.lstrip(".") or "png")
    return target


def scatter_plot(
    x: Sequence[float],
    y: Sequence[float],
    path: str | Path,
    *,
    title: str = "",
    xlabel: str = "proxy score",
    ylabel: str = "ground truth",
    highlight: Sequence[bool] | None = None,
) -> Path:
    """Write a scatter of ``y`` against ``x`` to ``path`` (format from the suffix, atomic).

    Points flagged in ``highlight`` (e.g. sentinel scores) are drawn in red.
    """
    fig = _figure((4.0, 3.2))
    ax = fig.add_subplot()
    flags = list(highlight) if highlight is not None else [False] * len(x)
    ok = [i for i, f in enumerate(flags) if not f]
    bad = [i for i, f in enumerate(flags) if f]
    ax.scatter([x[i] for i in ok], [y[i] for i in ok], s=8, alpha=0.6)
    if bad:
        ax.scatter([x[i] for i in bad], [y[i] for i in bad], s=8, c="red", label="failed (sentinel)")
        ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _save(fig, path)


def proxy_scatter_plots(
    scores: Mapping[str, Sequence[float]],
    truth: Sequence[float],
    folder: str | Path,
    *,
    kendall: Mapping[str, float] | None = None,
    sentinel: float | None = None,
    ylabel: str = "ground truth",
) -> list[Path]:
    """One ``<folder>/<proxy>.png`` per proxy; the title carries Kendall tau when given."""
    paths = []
    for name, vals in scores.items():
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", name)
        title = name if kendall is None or name not in kendall else f"{name} (Kendall τ = {kendall[name]:.3f})"
        flags = [v == sentinel for v in vals] if sentinel is not None else None
        paths.append(
            scatter_plot(vals, truth, Path(folder) / f"{safe}.png", title=title, ylabel=ylabel, highlight=flags)
        )
    return paths


def plot_search_curves(
    curves: Mapping[str, Sequence[Mapping[str, Any]]] | Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
    path: str | Path,
    *,
    title: str = "",
    xlabel: str = "evaluated candidates",
    ylabel: str = "best fitness so far",
) -> Path:
    """Write a plot of best-so-far fitness against the number of evaluations, one line per search.

    Args:
        curves: ``{label: history}`` or ``[(label, history)]``, a history being the records of
            :class:`saswot.search.evolution.IterationRecord` as dicts (``evaluations``, ``best_fitness``).
        path: output file (PNG unless the suffix says otherwise; written atomically).
        title, xlabel, ylabel: labels.
    """
    items = list(curves.items()) if isinstance(curves, Mapping) else list(curves)
    fig = _figure((5.5, 3.8))
    ax = fig.add_subplot()
    for label, hist in items:
        if not hist:
            continue
        xs = [int(r["evaluations"]) for r in hist]
        ys = [float(r["best_fitness"]) for r in hist]
        ax.step(xs, ys, where="post", label=label, marker="o", markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)
