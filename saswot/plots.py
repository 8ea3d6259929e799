"""Scatter plots (matplotlib, Agg backend): a proxy's scores against ground truth (paper Fig. 3)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from saswot.io import atomic_path


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.0, 3.2), dpi=120)
    try:
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
        fig.tight_layout()
        target = Path(path)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=target.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return Path(path)


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
        paths.append(scatter_plot(vals, truth, Path(folder) / f"{safe}.png", title=title, ylabel=ylabel, highlight=flags))
    return paths
