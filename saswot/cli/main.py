"""Entry point of the ``saswot`` command.

Each command group lives in its own module under ``saswot.cli`` and exposes ``register(app)``.
This module lists the commands in :data:`COMMANDS` and loads a command's module only when that
command runs, so ``saswot --version`` and ``saswot --help`` answer without importing torch.
It is also the one place with process-wide effects: the torch thread count (:mod:`saswot.runtime.threads`)
and glibc's malloc tuning are applied here, never by library calls. :class:`SaswotError` becomes
a one-line ``error: ...`` message and exit code 2.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from saswot import __version__
from saswot.cli._options import option_name, precheck
from saswot.errors import SaswotError
from saswot.runtime.allocator import tune_malloc
from saswot.runtime.fdsharing import install_quiet_hooks
from saswot.runtime.threads import apply_threads, choose_threads
from saswot.utils.io import check_writable


@dataclass(frozen=True)
class CommandEntry:
    """A command of the CLI.

    Attributes:
        module: the ``saswot.cli`` module whose ``register(app)`` adds the command.
        help: the one-line help shown by ``saswot --help`` (a test checks it matches the command's own).
        threads: the command computes with torch and takes ``--threads``.
    """

    module: str
    help: str
    threads: bool = True
    dir_outputs: frozenset[str] = frozenset()


#: Every command, in the order of ``saswot --help``. Add a command here and in its module.
COMMANDS: dict[str, CommandEntry] = {
    "rank": CommandEntry(
        "saswot.cli.rank_cmd",
        "Score a space's benchmark architectures with zero-cost proxies; Kendall/Spearman/Pearson vs ground truth.",
    ),
    "avt-calibrate": CommandEntry(
        "saswot.cli.rank_cmd",
        "Pre-compute AVT min/max (SasWOT: saswot_minus and nwot) on a seeded architecture sample.",
    ),
    "search-proxy": CommandEntry(
        "saswot.cli.search_proxy_cmd",
        "Search a proxy expression by evolution (paper Algorithm 1) against random search.",
    ),
    "arch-info": CommandEntry(
        "saswot.cli.arch_cmd", "Parameters, GMACs and (with --latency) latency of an architecture of a search space."
    ),
    "search-arch": CommandEntry(
        "saswot.cli.arch_cmd", "Training-free search of a segmenter under a latency or MACs budget."
    ),
    "score": CommandEntry(
        "saswot.cli.score_cmd",
        "Score your own nn.Module (a factory given as pkg.module:function) with zero-cost proxies.",
    ),
    "train": CommandEntry(
        "saswot.cli.train_cmd",
        "Train a segmentation network (SGD, exponential LR, OHEM CE, aux heads, optional KD).",
        dir_outputs=frozenset({"out"}),
    ),
    "eval": CommandEntry(
        "saswot.cli.train_cmd",
        "Evaluate a checkpoint: mIoU from a confusion matrix over the whole split at full resolution.",
    ),
    "fps": CommandEntry(
        "saswot.cli.train_cmd", "Measure inference speed: warm-up, synchronised timing, median/p90 latency and FPS."
    ),
    "export": CommandEntry(
        "saswot.cli.train_cmd",
        "Export a checkpoint to ONNX (verified with onnxruntime) and/or a slim inference checkpoint.",
    ),
    "bench": CommandEntry(
        "saswot.cli.bench_cmd",
        "Inspect a space's ground-truth file (ground truth, recorded params/FLOPs/proxies).",
        threads=False,
    ),
    "spaces": CommandEntry(
        "saswot.cli.bench_cmd", "List the registered search spaces and what each can do.", threads=False
    ),
    "data": CommandEntry(
        "saswot.cli.data_cmd", "Fetch datasets (TransNAS-Bench-101, CamVid) with checksums and resume.", threads=False
    ),
    "minibench": CommandEntry(
        "saswot.cli.minibench_cmd",
        "Trained FasterSeg-space ground truth on CamVid: sample, train, evaluate; correlate proxies with it.",
        threads=False,
    ),
    "predictor": CommandEntry(
        "saswot.cli.predictor_cmd",
        "Few-shot predictor of a space's ground truth from the architecture encoding: fit, inspect, predict.",
        threads=False,
    ),
}

#: Options that name something a command writes: file outputs, and the folders it writes into.
FILE_OUTPUTS = frozenset({"out", "onnx", "pt"})
DIR_OUTPUTS = frozenset({"plots", "cache", "save_vis", "to", "work"})

THREADS_HELP = (
    "torch CPU threads (default: OMP_NUM_THREADS if set, else the free cores: cores minus the current load, "
    "at least 1)."
)


def check_outputs(params: dict[str, Any], dir_outputs: frozenset[str] = frozenset()) -> None:
    """Check every output option in ``params`` for writability before the command does any work."""
    for name, value in params.items():
        if value is None or name not in FILE_OUTPUTS | DIR_OUTPUTS:
            continue
        check_writable(value, "--" + name.replace("_", "-"), directory=name in DIR_OUTPUTS | dir_outputs)


def _prepare(command: Any, entry: CommandEntry) -> Any:
    """Wrap ``command``: outputs checked before it runs and, for computing commands, a ``--threads`` option."""
    if command.callback is None:  # a group: its subcommands are wrapped instead
        for sub in getattr(command, "commands", {}).values():
            _prepare(sub, entry)
        return command
    callback: Callable[..., Any] = command.callback
    takes_threads = entry.threads and not any(p.name == "threads" for p in command.params)

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        check_outputs(kwargs, entry.dir_outputs)
        precheck(kwargs, command.name)  # the option errors that need no torch, answered before it is imported
        if takes_threads:
            apply_threads(choose_threads(kwargs.pop("threads", None)))
        return callback(*args, **kwargs)

    command.callback = run
    if takes_threads:
        command.params.append(TyperOption(param_decls=["--threads"], type=int, default=None, help=THREADS_HELP))
    return command


class LazyGroup(TyperGroup):
    """A command group that imports a command's module only when the command is used."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        """Eagerly added commands first, then those of :data:`COMMANDS` in their order."""
        eager = [name for name in super().list_commands(ctx) if name not in COMMANDS]
        return list(COMMANDS) + eager

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command, loaded from its module (a light placeholder while the group's help is shown)."""
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            return TyperCommand(cmd_name, help=entry.help, short_help=entry.help)
        return load_command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Show the group's help from :data:`COMMANDS` without importing any command module."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


@functools.cache
def load_command(name: str) -> Any:
    """Import the module of command ``name`` and return its click command (``--threads`` added)."""
    entry = COMMANDS[name]
    module = importlib.import_module(entry.module)
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    module.register(sub)
    built: Any = typer.main.get_command(sub)
    # A module that registers several commands (or a group) builds a group; a single command builds itself.
    command = built.get_command(typer.Context(built), name) if hasattr(built, "commands") else built
    if command is None:
        raise RuntimeError(f"module {entry.module} does not register the command '{name}'")
    command.name = name
    return _prepare(command, entry)


app = typer.Typer(
    name="saswot",
    cls=LazyGroup,
    help="Training-free architecture search for real-time semantic segmentation (SasWOT).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"saswot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """saswot: score, rank and discover zero-cost proxies; search, train, time and export segmenters."""
    # Scoring many networks reuses freed memory instead of re-faulting fresh pages (about 20 %
    # of the wall time of `rank --proxies all`, see saswot.runtime.allocator).
    tune_malloc()


#: Options whose value may be left out, and the value a bare option stands for (``--ray`` alone
#: starts a local Ray instance; ``--ray ADDRESS`` connects to a cluster).
BARE_VALUES = {"--ray": "local"}


def bare_option_values(argv: list[str]) -> list[str]:
    """Give a value to each option of :data:`BARE_VALUES` written without one (last, or before another option)."""
    out = []
    for i, arg in enumerate(argv):
        following = argv[i + 1] if i + 1 < len(argv) else None
        if arg in BARE_VALUES and (following is None or following.startswith("-")):
            out.append(f"{arg}={BARE_VALUES[arg]}")
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code.

    User errors (:class:`SaswotError`) print ``error: ...`` on stderr and return 2; usage
    errors are reported by typer/click with exit code 2.
    """
    # the harmless connection errors of multiprocessing's descriptor-sharing thread (after Ctrl-C)
    restore_hooks = install_quiet_hooks()
    restore_sigint = _interrupt_once()
    interrupted = False
    try:
        # the click command itself, not Typer.__call__: that one replaces sys.excepthook with typer's,
        # which would undo the quiet hook above for the rest of the process
        typer.main.get_command(app)(
            args=bare_option_values(sys.argv[1:] if argv is None else list(argv)), prog_name="saswot"
        )
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code == INTERRUPTED_EXIT:  # typer turns Ctrl-C inside a command into this exit code
            interrupted = True
            _print_error(INTERRUPTED_MESSAGE)
        return code
    except SaswotError as exc:  # a library error names parameters: show this command's options
        _print_error(exc.render(option_name))
        return exc.exit_code
    except KeyboardInterrupt:  # outside a command (typer handles it inside one: exit code 130, above)
        interrupted = True  # keep the quiet hooks: worker processes may still be going down
        _print_error(INTERRUPTED_MESSAGE)
        return INTERRUPTED_EXIT
    except MemoryError:
        _print_error("out of memory; lower --batch-size or the resolution, or use fewer --workers")
        return 2
    except OSError as exc:  # a file-system failure outside saswot's own checks (disk full, file vanished)
        _print_error(f"{exc.strerror or exc} ('{exc.filename}')" if exc.filename else f"{exc}")
        return 2
    except Exception as exc:  # the last resort of the entry point: one line, and the traceback on request
        if os.environ.get(TRACEBACK_ENV):
            raise
        _print_error(
            f"unexpected {type(exc).__name__}: {exc}. This is a bug in saswot; rerun with "
            f"{TRACEBACK_ENV}=1 to see the traceback and report it"
        )
        return 1
    finally:
        if not interrupted:
            restore_hooks()
        if not (interrupted and argv is None):  # the command line's own process keeps ignoring Ctrl-C while it exits
            restore_sigint()
    return 0


def _interrupt_once() -> Callable[[], None]:
    """Make the first Ctrl-C raise KeyboardInterrupt and ignore the ones after it, until the
    returned function restores the previous handler.

    A terminal's Ctrl-C reaches every process of the job, and an impatient user presses it twice:
    a second KeyboardInterrupt raised while the executor shuts its workers down, or while the
    one-line message is printed, would end the process with chained tracebacks instead. Nothing
    changes when the embedding program installed its own SIGINT handler, or off the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        return lambda: None

    def first_only(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, first_only)
    return restore


#: Exit code and message of a command stopped by Ctrl-C (the quiet hooks then stay installed: the
#: descriptor-sharing threads may still report their lost peers while the workers go down).
INTERRUPTED_EXIT = 130
INTERRUPTED_MESSAGE = (
    "interrupted; finished results and caches are kept (rerun the command, with --resume where it has one, to continue)"
)

#: Set to show the traceback of an unexpected error instead of the one-line message.
TRACEBACK_ENV = "SASWOT_TRACEBACK"


def _print_error(message: str) -> None:
    """Write ``error: message`` on stderr as one line (red on a terminal).

    Plain writes, no console library: the line must come out whole even while a second Ctrl-C
    arrives (SIGINT is ignored while it is written) and without importing anything; square
    brackets in the message are printed as they are.
    """
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if on_main else None
    try:
        stream = sys.stderr
        tty = hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")
        prefix = "\033[1;31merror:\033[0m" if tty else "error:"
        stream.write(f"{prefix} {message}\n")
        stream.flush()
    except (OSError, ValueError):  # stderr closed or gone (a broken pipe): nothing more to do
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
