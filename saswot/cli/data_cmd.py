"""CLI: ``saswot data fetch``: download, verify and install a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from saswot.runtime.progress import make_progress
from saswot.utils.fetch import fetch_dataset, get_source
from saswot.utils.paths import resolve_data_root

data_app = typer.Typer(
    help="Fetch datasets (TransNAS-Bench-101, CamVid) with checksums and resume.", no_args_is_help=True
)


@data_app.command("fetch")
def fetch_cmd(
    name: str = typer.Argument(..., help="tnb101 or camvid."),
    to: Optional[Path] = typer.Option(None, "--to", help="Data root to install into (else $SASWOT_DATA, else ./data)."),
    from_files: Optional[list[Path]] = typer.Option(
        None,
        "--from",
        help="A file you downloaded by hand (repeat for several); checked and installed instead of downloading it.",
    ),
    mirror: Optional[str] = typer.Option(None, "--mirror", help="Download each file from MIRROR/<file name> instead."),
    force: bool = typer.Option(False, "--force", help="Reinstall even if the dataset folder exists."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Download (resuming an interrupted download), verify and install a dataset under the data root."""

    source = get_source(name)
    root = resolve_data_root(to)
    with make_progress(disable=quiet) as progress:
        tasks: dict[str, Any] = {}

        def on_progress(file: str, done: int, total: Optional[int]) -> None:
            if file not in tasks:
                tasks[file] = progress.add_task(f"{file} (bytes)", total=total, status="")
            progress.update(tasks[file], completed=done, total=total)

        target = fetch_dataset(
            source, root, from_files=from_files or (), mirror=mirror, force=force, on_progress=on_progress
        )
    typer.echo(f"installed {source.name} at {target}")


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group."""
    app.add_typer(data_app, name="data")
