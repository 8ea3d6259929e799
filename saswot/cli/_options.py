"""Command-line options shared by the scoring commands (``rank``, ``avt-calibrate``,
``search-proxy``, ``search-arch``): where the networks are scored (:mod:`saswot.runtime.parallel`)."""

from __future__ import annotations

from typing import Any

import typer

WORKERS_HELP = "score on N local worker processes (each with its share of the CPU threads); default: serially"
RAY_HELP = (
    "score on Ray: give a cluster address, or --ray alone to start a local Ray instance "
    '(needs pip install "saswot\\[ray]"; with --workers N, a local instance gets N CPUs)'
)


def workers_option() -> Any:
    """The ``--workers N`` option."""
    return typer.Option(0, "--workers", help=WORKERS_HELP, min=0)


def ray_option() -> Any:
    """The ``--ray [ADDRESS]`` option (a bare ``--ray`` is given the value ``local`` by the entry point)."""
    return typer.Option(None, "--ray", help=RAY_HELP, metavar="[ADDRESS]")


def parse_resolution(text: str, option: str = "--resolution", minimum: int = 1) -> tuple[int, int]:
    """The one parser of resolution options: ``"R"`` (square) or ``"HxW"`` (``x`` or ``×``) -> ``(H, W)``.

    Raises:
        SaswotError: not of that form, or a side below ``minimum``.
    """
    from saswot.errors import SaswotError

    parts = str(text).strip().lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise SaswotError(f"{option} must look like HxW or R (square), e.g. 360x480 or 64 (got '{text}')")
    if min(values) < minimum:
        raise SaswotError(f"{option}: height and width must be at least {minimum} (got '{text}')")
    return values[0], values[1]


def proxies_help(extra: str = "") -> str:
    """Help of a ``--proxies`` option: the forms it takes and every registered proxy name."""
    from saswot.proxies import REGISTRY

    return (
        f"all, or NAME,NAME,... (a NAME may be a proxy .json file){extra}. Registered: {', '.join(REGISTRY.names())}."
    )


SPACE_HELP = "search space: a registered name (list them with `saswot spaces`)"


def space_option(capability: str | None = None, required: bool = True) -> Any:
    """The ``--space NAME`` option; names are checked against :mod:`saswot.spaces` when the command runs.

    Args:
        capability: what the command needs of the space (shown in the help): ``benchmark`` (ground
            truth), ``segmenter-search``.
        required: False for commands that can take the space from elsewhere (a checkpoint, the one
            space with the capability).
    """
    extra = f" with {capability}" if capability else ""
    return typer.Option(... if required else None, "--space", help=f"{SPACE_HELP}{extra}", metavar="NAME")


def bench_option() -> Any:
    """``--bench FILE``: the space's ground truth (default: its file under the data root)."""
    return typer.Option(None, "--bench", help="ground-truth JSON (default: the space's file under the data root)")


def data_option() -> Any:
    """``--data NAME``: the proxy batch's source."""
    return typer.Option("camvid", "--data", help="proxy batch: a dataset (camvid, ...) or random")


def data_root_option() -> Any:
    """``--data-root DIR``."""
    return typer.Option(None, "--data-root", help="data root (else $SASWOT_DATA, else ./data)")


def device_option() -> Any:
    """``--device cpu|cuda``."""
    return typer.Option("cpu", "--device", help="cpu or cuda")


def cache_option() -> Any:
    """``--cache DIR``: the per-architecture score cache."""
    return typer.Option(
        None,
        "--cache",
        help="score cache folder (default: <cache root>/scores; the cache root is $SASWOT_CACHE, else ~/.cache/saswot)",
    )


def quiet_option() -> Any:
    """``--quiet``: no progress bars."""
    return typer.Option(False, "--quiet", help="no progress bar")
