"""``saswot search-proxy``: evolutionary discovery of a zero-cost proxy expression."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from saswot.errors import SaswotError, UnknownNameError

SPACES = ("micro", "macro")


def search_proxy(
    space: str = typer.Option(..., "--space", help="TransNAS-Bench-101 space: micro or macro."),
    out: Path = typer.Option(..., "--out", help="Output proxy JSON (plot, checkpoint beside it)."),
    bench: Optional[Path] = typer.Option(None, "--bench", help="Benchmark JSON (default: under the data root)."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Data root (else $SASWOT_DATA, else ./data)."),
    generations: int = typer.Option(20, "--generations", help="Evolution iterations."),
    population: int = typer.Option(20, "--population", help="Population size."),
    topk: int = typer.Option(5, "--topk", help="Parents kept and bred each iteration."),
    search_archs: int = typer.Option(100, "--search-archs", help="Architectures for the fitness (Kendall τ)."),
    val_archs: int = typer.Option(200, "--val-archs", help="Disjoint validation architectures (reported only)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the arch split and the search."),
    random_only: bool = typer.Option(False, "--random", help="Random search only (no evolution)."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Statistics cache folder (default .saswot_cache/autoproxy)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the checkpoint beside --out."),
    combine: str = typer.Option("none", "--combine", help="Write combine_with into the proxy file: none or nwot."),
    no_baseline: bool = typer.Option(False, "--no-random-baseline", help="Skip the random-search baseline."),
) -> None:
    """Search a proxy expression by evolution (paper Algorithm 1) against random search."""
    from saswot.autoproxy.plot import plot_search_curves
    from saswot.autoproxy.search import ProxySearchConfig, run_proxy_search
    from saswot.io import write_json
    from saswot.tables import print_table

    if space not in SPACES:
        raise UnknownNameError(f"unknown space '{space}'; use one of: {', '.join(SPACES)}")
    if combine not in ("none", "nwot"):
        raise UnknownNameError(f"unknown --combine '{combine}'; use none or nwot")
    if search_archs < 3 or val_archs < 3:
        raise SaswotError("--search-archs and --val-archs must each be at least 3")
    cfg = ProxySearchConfig(space=space, generations=generations, population=population, topk=topk,
                            search_archs=search_archs, val_archs=val_archs, seed=seed, random_only=random_only)
    result = run_proxy_search(cfg, out, bench_path=bench, data_root=data_root, cache_dir=cache,
                              resume=resume, random_baseline=not no_baseline)
    if combine == "nwot":
        result["combine_with"] = "nwot"
    write_json(out, result)
    curves = {result["method"]: result["history"]}
    if result.get("random"):
        curves["random"] = result["random"]["history"]
    png = plot_search_curves(curves, out.with_suffix(".png"), title=f"proxy search, TNB101-{space}")

    def f(x: object) -> str:
        return "n/a" if not isinstance(x, float) or math.isnan(x) else f"{x:.4f}"

    rows = [[result["method"] + " best", result["formula"], f(result["kendall_search"]), f(result["kendall_val"])],
            ["  + nwot (AVT)", "avt(best) + avt(nwot)", "", f(result["kendall_val_combined_nwot"])]]
    if result.get("random"):
        r = result["random"]
        rows.append(["random best", r["best_expression"], f(r["kendall_search"]), f(r["kendall_val"])])
    for b in result["baselines_val"]:
        rows.append([b["proxy"], "", "", f(b["kendall_val"])])
    print_table(f"search-proxy {space}: Kendall τ ({search_archs} search / {val_archs} val archs)",
                ["proxy", "formula", "τ search", "τ val"], rows)
    typer.echo(f"wrote {out} and {png}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``search-proxy`` to the app."""
    app.command(name="search-proxy")(search_proxy)
