"""Fig. 4-style plot: best fitness (Kendall tau) vs evaluations, evolution against random search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from saswot.io import atomic_path


def plot_search_curves(curves: Mapping[str, Sequence[Mapping[str, Any]]], path: str | Path,
                       title: str = "") -> Path:
    """Write a PNG of best-so-far fitness against the number of evaluations.

    Args:
        curves: ``{label: history}``, a history being the records of
            :class:`saswot.search.evolution.IterationRecord` as dicts.
        path: PNG file (written atomically).
        title: figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, hist in curves.items():
        if not hist:
            continue
        xs = [int(r["evaluations"]) for r in hist]
        ys = [float(r["best_fitness"]) for r in hist]
        ax.step(xs, ys, where="post", label=label, marker="o", markersize=3)
    ax.set_xlabel("evaluated candidates")
    ax.set_ylabel("best Kendall τ (search archs)")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return p
