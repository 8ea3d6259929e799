"""Search-curve plot (paper Fig. 4 style): best proxy score so far vs. evaluated architectures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saswot.io import atomic_path


def plot_search_curves(curves: Sequence[tuple[str, Sequence[dict[str, Any]]]], path: str | Path,
                       title: str = "segmenter search") -> Path:
    """Write a PNG with one line per ``(label, history records)`` (x: evaluations, y: best score).

    Args:
        curves: label and the engine's history records (dicts with ``evaluations`` and
            ``best_fitness``).
        path: output PNG (written atomically).
        title: plot title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, hist in curves:
        xs = [int(r["evaluations"]) for r in hist]
        ys = [float(r["best_fitness"]) for r in hist]
        ax.step(xs, ys, where="post", label=label)
    ax.set_xlabel("evaluated architectures")
    ax.set_ylabel("best proxy score")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return Path(path)
