"""``saswot search-proxy``: evolutionary discovery of a zero-cost proxy expression."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import typer

from saswot.cli._options import ray_option, space_option, workers_option
from saswot.errors import SaswotError, UnknownNameError
from saswot.spaces import BENCHMARK, get_space
from saswot.utils.io import checkpoint_path, read_json, write_json
from saswot.utils.tables import print_table


def search_proxy(
    space: Optional[str] = space_option("benchmark (with --resume: taken from the checkpoint)", required=False),
    out: Path = typer.Option(..., "--out", help="Output proxy JSON (plot, checkpoint beside it)."),
    bench: Optional[Path] = typer.Option(None, "--bench", help="Benchmark JSON (default: under the data root)."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
    generations: Optional[int] = typer.Option(
        None,
        "--generations",
        help="Evolution iterations (default 20; with --resume, more than the checkpoint's extends the search).",
    ),
    population: Optional[int] = typer.Option(None, "--population", help="Population size (default 20)."),
    topk: Optional[int] = typer.Option(None, "--topk", help="Parents kept and bred each iteration (default 5)."),
    search_archs: Optional[int] = typer.Option(
        None, "--search-archs", help="Architectures for the fitness (Kendall τ; default 100)."
    ),
    val_archs: Optional[int] = typer.Option(
        None, "--val-archs", help="Disjoint validation architectures (reported only; default 200)."
    ),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the arch split and the search (default 0)."),
    random_only: bool = typer.Option(False, "--random", help="Random search only (no evolution)."),
    cache: Optional[Path] = typer.Option(
        None,
        "--cache",
        help="Statistics cache folder (default <cache root>/autoproxy; $SASWOT_CACHE, else ~/.cache/saswot).",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue from the checkpoint beside --out, with its "
        "settings (options you give must match them, except a larger --generations).",
    ),
    combine: str = typer.Option("none", "--combine", help="Write combine_with into the proxy file: none or nwot."),
    no_baseline: bool = typer.Option(False, "--no-random-baseline", help="Skip the random-search baseline."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    workers: int = workers_option(),
    ray: Optional[str] = ray_option(),
) -> None:
    """Search a proxy expression by evolution (paper Algorithm 1) against random search."""
    from saswot.runtime.parallel import make_executor
    from saswot.search.proxy_search import ProxySearchConfig, run_proxy_search
    from saswot.utils.plots import plot_search_curves

    given = {
        "space": space,
        "generations": generations,
        "population": population,
        "topk": topk,
        "search_archs": search_archs,
        "val_archs": val_archs,
        "seed": seed,
    }
    settings = resolve_settings(given, out, resume)
    space = settings["space"]
    generations, population, topk = settings["generations"], settings["population"], settings["topk"]
    search_archs, val_archs, seed = settings["search_archs"], settings["val_archs"], settings["seed"]

    space = get_space(space, BENCHMARK).name  # an unknown name fails here, listing the spaces
    if combine not in ("none", "nwot"):
        raise UnknownNameError(f"unknown --combine '{combine}'; use none or nwot")
    if search_archs < 3 or val_archs < 3:
        raise SaswotError("--search-archs and --val-archs must each be at least 3")
    cfg = ProxySearchConfig(
        space=space,
        generations=generations,
        population=population,
        topk=topk,
        search_archs=search_archs,
        val_archs=val_archs,
        seed=seed,
        random_only=random_only,
    )

    with make_executor(workers, ray) as executor:
        result = run_proxy_search(
            cfg,
            out,
            bench_path=bench,
            data_root=data_root,
            cache_dir=cache,
            resume=resume,
            random_baseline=not no_baseline,
            show_progress=not quiet,
            executor=None if executor.kind == "serial" else executor,
        )
    if combine == "nwot":
        result["combine_with"] = "nwot"
    write_json(out, result)
    curves = {result["method"]: result["history"]}
    if result.get("random"):
        curves["random"] = result["random"]["history"]
    png = plot_search_curves(
        curves, out.with_suffix(".png"), title=f"proxy search, {space}", ylabel="best Kendall τ (search archs)"
    )

    def f(x: object) -> str:
        return "n/a" if not isinstance(x, float) or math.isnan(x) else f"{x:.4f}"

    rows = [
        [result["method"] + " best", result["formula"], f(result["kendall_search"]), f(result["kendall_val"])],
        ["  + nwot (AVT)", "avt(best) + avt(nwot)", "", f(result["kendall_val_combined_nwot"])],
    ]
    if result.get("random"):
        r = result["random"]
        rows.append(["random best", r["best_expression"], f(r["kendall_search"]), f(r["kendall_val"])])
    for b in result["baselines_val"]:
        rows.append([b["proxy"], "", "", f(b["kendall_val"])])
    print_table(
        f"search-proxy {space}: Kendall τ ({search_archs} search / {val_archs} val archs)",
        ["proxy", "formula", "τ search", "τ val"],
        rows,
    )
    typer.echo(f"wrote {out} and {png}", err=True)


#: Defaults of the settings that a resumed search takes from its checkpoint.
DEFAULTS = {"generations": 20, "population": 20, "topk": 5, "search_archs": 100, "val_archs": 200, "seed": 0}


def resolve_settings(given: dict[str, Any], out: Path, resume: bool) -> dict[str, Any]:
    """The search settings: the options given, else (with ``resume``) the checkpoint's, else the defaults.

    Raises:
        SaswotError: ``--space`` missing without a checkpoint, or an option that contradicts the checkpoint
            (a larger ``--generations`` is allowed: it extends the search).
    """
    from saswot.search.proxy_search import adopt_old_checkpoint

    if resume:
        adopt_old_checkpoint(out)
    ckpt = checkpoint_path(out)
    if resume and not ckpt.is_file():
        raise SaswotError(no_checkpoint_message(ckpt, out))
    saved: dict[str, Any] = {}
    if resume and ckpt.exists():
        meta = read_json(ckpt, "search checkpoint").get("meta") or {}
        config = meta.get("config") or {}
        saved = {
            "space": meta.get("space"),
            "seed": meta.get("seed"),
            "search_archs": meta.get("search_archs"),
            "val_archs": meta.get("val_archs"),
            "generations": config.get("iterations"),
            "population": config.get("population"),
            "topk": config.get("topk"),
        }
    settings = {}
    for name, value in given.items():
        old = saved.get(name)
        if value is not None and old is not None and value != old and not (name == "generations" and value > old):
            option = "--" + name.replace("_", "-")
            raise SaswotError(
                f"{option} {value} contradicts the checkpoint '{ckpt}' ({option} {old}); leave it out "
                "to resume with the checkpoint's settings"
                + (", or give more generations to extend the search" if name == "generations" else "")
            )
        settings[name] = value if value is not None else old if old is not None else DEFAULTS.get(name)
    if settings["space"] is None:
        raise SaswotError(
            "give --space NAME (a space with a benchmark, see `saswot spaces`)"
            + (f" (no checkpoint at '{ckpt}' to resume from)" if resume else "")
        )
    return settings


def no_checkpoint_message(ckpt: Path, out: Path) -> str:
    """The error of ``--resume`` when no checkpoint lies beside ``--out``."""
    where = f"'{ckpt}' is a folder, not a checkpoint" if ckpt.is_dir() else f"no checkpoint at '{ckpt}'"
    return (
        f"--resume: {where} (a search writes it beside --out '{out}' as it goes); check --out, "
        "or leave out --resume to start a new search"
    )


def register(app: typer.Typer) -> None:
    """Add ``search-proxy`` to the app."""
    app.command(name="search-proxy")(search_proxy)
