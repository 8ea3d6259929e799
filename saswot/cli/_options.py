"""Command-line options shared by the scoring commands (``rank``, ``avt-calibrate``,
``search-proxy``, ``search-arch``): where the networks are scored (:mod:`saswot.runtime.parallel`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import typer

from saswot.errors import DataNotFoundError, SaswotError, UnknownNameError, unknown_model_error
from saswot.spaces import REGISTRY, SEGMENTER_SEARCH, get_space, space_names
from saswot.utils.io import check_checkpoint_file

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


#: The registered proxy names, for ``--help`` (importing the registry would import torch, and
#: ``--help`` must answer at once). A test checks that this list equals ``REGISTRY.names()``.
PROXY_NAMES = (
    "auto-macro, auto-macro+nwot, auto-micro, auto-micro+nwot, az_complexity, az_expressivity, az_progressivity, "
    "az_trainability, epe_nas, fisher, flops, grad_norm, grasp, jacov, l2_norm, meco, nwot, params, plain, saswot, "
    "saswot_minus, saswot_minus_v1, snip, swap, synflow, zen, zico"
)


def proxies_help(extra: str = "") -> str:
    """Help of a ``--proxies`` option: the forms it takes and every registered proxy name."""
    return f"all, or NAME,NAME,... (a NAME may be a proxy .json file){extra}. Registered: {PROXY_NAMES}."


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
OPTION_OF: dict[str, str] = {"avt_file": "--avt", "from_file": "--from", "iterations": "--generations"}


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


#: Options holding a resolution (``HxW`` or ``R``), checked before a command imports torch.
RESOLUTION_OPTIONS = ("resolution", "input_size", "proxy_resolution", "target_resolution", "eval_size")

#: Bounds of numeric options, checked before a command imports torch: ``{name: (lowest, message)}``.
LOWER_BOUNDS: dict[str, tuple[float, str]] = {
    "population": (2, "must be at least 2"),
    "generations": (0, "must be >= 0"),
    "topk": (1, "must be at least 1"),
}

#: Options that must be positive when given.
POSITIVE_OPTIONS = ("max_gmacs", "max_latency_ms")


#: The registered training models (``saswot.train.models.MODELS``; a test keeps the two equal).
MODEL_NAMES = ("tiny", "deeplabv3plus-r101")


def check_model_name(model: str) -> None:
    """Refuse a model that is neither a registered model, a built-in architecture of a space with a
    segmenter search, nor a file, without importing torch (the message of
    :func:`saswot.train.models.resolve_model`, which checks the rest)."""
    if model in MODEL_NAMES or Path(model).exists() or model.endswith(".json"):
        return
    builtin = [
        n for name in REGISTRY.names(SEGMENTER_SEARCH) for n in getattr(REGISTRY.get(name), "builtin_names", list)()
    ]
    if model in builtin:
        return
    raise unknown_model_error(model, builtin + list(MODEL_NAMES))


def precheck(params: dict[str, Any], command: str | None = None) -> None:
    """Check what can be checked of a command's options without importing torch.

    The entry point calls this before a command runs, so a typo in a resolution, a space or a
    proxy name, or an impossible search setting, is answered at once; the command checks the rest
    (and checks these again: library calls do not pass through here).

    Args:
        params: the command's options by name.
        command: the command's name (``train``'s model and ``arch-info``'s arch file are checked too).

    Raises:
        SaswotError: an option value that cannot work (the message names the option).
    """
    for name in RESOLUTION_OPTIONS:
        value = params.get(name)
        if isinstance(value, str):
            parse_resolution(value, "--" + name.replace("_", "-"))
    for name, (lowest, text) in LOWER_BOUNDS.items():
        value = params.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < lowest:
            raise SaswotError(f"--{name} {text} (got {value})")
    population, topk = params.get("population"), params.get("topk")
    if isinstance(population, int) and isinstance(topk, int) and topk > population:
        raise SaswotError(f"--topk must be between 1 and --population {population} (got --topk {topk})")
    for name in POSITIVE_OPTIONS:
        value = params.get(name)
        if isinstance(value, (int, float)) and value <= 0:
            raise SaswotError(f"--{name.replace('_', '-')} must be positive (got {value:g})")
    model = params.get("model")
    if command == "train" and isinstance(model, str) and model:  # a registered model, a built-in arch or a file
        check_model_name(model)
    arch = params.get("arch")
    if command == "arch-info" and isinstance(arch, str) and arch.endswith(".json") and not Path(arch).is_file():
        raise DataNotFoundError(f"arch file not found at '{arch}'; check the path or use a built-in name (fasterseg)")
    if params.get("ckpt") is not None:  # eval, export: a checkpoint file
        check_checkpoint_file(params["ckpt"])
    space = params.get("space")
    if isinstance(space, str) and space:
        if space not in space_names():
            get_space(space)  # raises the registry's own message, listing the spaces
    for option in ("proxies", "proxy"):
        given = params.get(option)
        if not isinstance(given, str) or any(c in given for c in ":;@/\\") or ".json" in given:
            continue  # ensembles and proxy files are read by the command
        known = {n.strip() for n in PROXY_NAMES.split(",")} | {"all", "aznas"}
        for token in (t.strip().lstrip("-") for t in given.split(",")):
            if token and token not in known:
                raise UnknownNameError(
                    f"unknown proxy '{token}'. Valid proxies: {PROXY_NAMES}; "
                    "or give the path of a proxy JSON file (ending in .json)."
                )
