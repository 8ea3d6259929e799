"""Entry point of the ``saswot`` command.

Each command group lives in its own module under ``saswot.cli`` and exposes
``register(app)``; this module only assembles them and turns :class:`SaswotError`
into a clear message and exit code 2.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer
from rich.console import Console

from saswot import __version__
from saswot.allocator import tune_malloc
from saswot.errors import SaswotError

app = typer.Typer(
    name="saswot",
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
    # of the wall time of `rank --proxies all`, see saswot.allocator).
    tune_malloc()


def _register_all() -> None:
    # Imported here so that `saswot --help` lists every command group; each module owns its commands.
    from saswot.cli import arch, bench, rank, search_proxy, train

    for module in (bench, rank, search_proxy, arch, train):
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code.

    User errors (:class:`SaswotError`) print ``error: ...`` on stderr and return 2; usage
    errors are reported by typer/click with exit code 2.
    """
    err = Console(stderr=True)
    try:
        app(args=argv, prog_name="saswot")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except SaswotError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
