"""Command-line options shared by the scoring commands (``rank``, ``avt-calibrate``,
``search-proxy``, ``search-arch``): where the networks are scored (:mod:`saswot.runtime.parallel`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import typer

from saswot.errors import SaswotError

C = TypeVar("C")

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


def build_config(cls: type[C], values: Mapping[str, Any], **given: Any) -> C:
    """An instance of the config dataclass ``cls`` (:mod:`saswot.config`) from a command's options.

    Every field of ``cls`` takes ``given[name]`` (an option that needed converting: a parsed
    resolution, a nested config), else the option of the same name in ``values`` (the command's
    ``locals()``); a field named by neither keeps its default. So a command declares each option
    once, under the name of the field it sets, and never copies fields by hand.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a config dataclass")
    kwargs = {
        f.name: given[f.name] if f.name in given else values[f.name]
        for f in dataclasses.fields(cls)
        if f.name in given or f.name in values
    }
    return cls(**kwargs)


#: Options whose name is not the parameter's (``batch.resolution`` is ``--resolution`` in most commands).
OPTION_OF: dict[str, str] = {"avt_file": "--avt", "from_file": "--from"}


def option_name(param: str, overrides: Mapping[str, str] | None = None) -> str:
    """The command-line option of a parameter named in a :class:`~saswot.errors.ParameterError`.

    ``batch.batch_size`` -> ``--batch-size``; ``overrides`` and :data:`OPTION_OF` name the exceptions.
    """
    table = {**OPTION_OF, **(overrides or {})}
    return table.get(param) or "--" + param.rsplit(".", 1)[-1].replace("_", "-")


def as_cli_error(exc: SaswotError, overrides: Mapping[str, str] | None = None) -> SaswotError:
    """``exc`` (same type) with its parameters written as this command's options."""
    out = type(exc)(exc.render(lambda p: option_name(p, overrides)))
    out.exit_code = exc.exit_code
    return out
