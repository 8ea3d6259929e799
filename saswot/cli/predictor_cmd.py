"""CLI: ``saswot predictor fit|info|predict`` – a few-shot predictor calibrated on a space's ground truth.

Thin layer over :mod:`saswot.search.predictor`: fit on the labelled architectures (for the FasterSeg space,
the networks a ``minibench`` file holds), report held-out rank correlation, write the predictor
file; read it back; predict architectures.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Optional

import typer

from saswot.search.predictor import FittedPredictor, PredictorConfig, fit_predictor, resolve_predictor_path
from saswot.spaces import get_space
from saswot.utils.io import write_json
from saswot.utils.tables import print_table

app = typer.Typer(
    name="predictor",
    help="Few-shot predictor of a space's ground truth from the architecture encoding: fit, inspect, predict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _validation_rows(meta: dict[str, Any]) -> list[list[Any]]:
    val = meta.get("validation") or {}
    rows = []
    for what, r in [("half", val.get("half"))] + [("k", c) for c in val.get("curve", [])]:
        if r:
            rows.append(
                [
                    f"fit on {r['k']}" + (" (half)" if what == "half" else ""),
                    r["n_test"],
                    r["repeats"],
                    f"{100 * r['mean']:.1f} ± {100 * r['std']:.1f}",
                ]
            )
    return rows


def fit(
    space: str = typer.Option(..., "--space", help="Search space with ground truth and an encoding (e.g. fasterseg)."),
    bench: Optional[list[Path]] = typer.Option(
        None, "--bench", help="Ground-truth files (repeatable; pooled). Default: the space's own."
    ),
    model: str = typer.Option(
        "rf",
        "--model",
        help="rf (random forest) | et (extra trees) | gbr (gradient boosting) | ridge (ridge regression) | "
        "rank (linear ranker fitted on pairs of networks).",
    ),
    features: str = typer.Option(
        "",
        "--features",
        help="The space's feature set (fasterseg: structure | structure-paths; default: the space's first).",
    ),
    clip_features: bool = typer.Option(
        False,
        "--clip-features",
        help="Clip each feature to the labelled networks' range before predicting (a trust region for search).",
    ),
    seed: int = typer.Option(0, "--seed", help="Model and validation-split seed."),
    repeats: int = typer.Option(50, "--repeats", min=0, help="Random splits per validation figure (0: none)."),
    out: Path = typer.Option(..., "--out", help="Predictor file to write (JSON)."),
) -> None:
    """Fit a predictor on every labelled architecture, validate it on held-out splits, write it."""

    config = PredictorConfig(
        model=model,
        max_features=0.5,
        min_samples_leaf=2,
        use_encoding=True,
        features=features,
        clip_features=clip_features,
    )
    pred = fit_predictor(space, [str(b) for b in bench] if bench else None, config, seed, repeats)
    pred.meta["command"] = " ".join(
        [
            "saswot predictor fit",
            f"--space {space}",
            *(f"--bench {shlex.quote(str(b))}" for b in bench or []),
            f"--model {model}",
            *([f"--features {features}"] if features else []),
            *(["--clip-features"] if clip_features else []),
            f"--seed {seed}",
            f"--repeats {repeats}",
            f"--out {shlex.quote(str(out))}",
        ]
    )
    pred.save(out)
    m = pred.meta
    print_table(
        f"predictor for '{space}': {m['archs']} labelled architectures, ground truth {m['y_min']:.2f}–{m['y_max']:.2f}",
        ["validation", "ranked", "splits", "Kendall ×100 (mean ± std)"],
        _validation_rows(m),
    )
    typer.echo(f"wrote {out}; use it with: saswot predictor predict {out} ARCH ...")


_PREDICTOR_ARG = "Predictor file, or a shipped predictor:NAME (e.g. predictor:camvid)."


def info(ref: str = typer.Argument(..., metavar="PREDICTOR", help=_PREDICTOR_ARG)) -> None:
    """What a predictor file was fitted on and how it validated."""

    path = resolve_predictor_path(ref)
    pred = FittedPredictor.load(path)
    m = pred.meta
    print_table(
        f"{path}: space '{pred.space}', model {pred.config.model}, {len(pred.keys)} labelled architectures, "
        f"{pred.x.shape[1]} features ({pred.config.features or 'the default set'}"
        f"{', clipped to the labelled range' if pred.config.clip_features else ''})",
        ["validation", "ranked", "splits", "Kendall ×100 (mean ± std)"],
        _validation_rows(m),
    )


def predict(
    ref: str = typer.Argument(..., metavar="PREDICTOR", help=_PREDICTOR_ARG),
    archs: list[str] = typer.Argument(..., help="Architectures (names, arch files or keys the space reads)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the predictions as JSON."),
) -> None:
    """Predicted ground truth of architectures."""

    path = resolve_predictor_path(ref)
    pred = FittedPredictor.load(path)
    space = get_space(pred.space)
    values = pred.score_many([space.parse(a) for a in archs])
    rows = [[a, f"{v:.3f}"] for a, v in zip(archs, values)]
    print_table(f"predicted ground truth ({pred.space})", ["architecture", "prediction"], rows)
    if out is not None:
        write_json(
            out,
            {
                "predictor": str(path),
                "space": pred.space,
                "predictions": [{"arch": a, "prediction": v} for a, v in zip(archs, values)],
            },
        )


app.command(name="fit")(fit)
app.command(name="info")(info)
app.command(name="predict")(predict)


def register(root: typer.Typer) -> None:
    """Add the ``predictor`` command group."""
    root.add_typer(app, name="predictor")
