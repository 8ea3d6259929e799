"""Tables and error lines print square brackets (formulas, paths) as they are."""

from __future__ import annotations

import pytest
from rich.console import Console

from saswot.utils.tables import render_table

FORMULA = "Σ_layers Σ_elements [sign(pow2(W)) < normalize(normalize(G))]"


def test_a_formula_with_brackets_is_shown_whole_in_a_table() -> None:
    console = Console(width=200, record=True)
    console.print(render_table("proxies [search]", ["proxy", "formula"], [["auto", FORMULA]]))
    text = console.export_text()
    assert FORMULA in text
    assert "proxies [search]" in text


def test_an_error_message_with_brackets_is_printed_whole(capsys: pytest.CaptureFixture[str]) -> None:
    from saswot.cli.main import _print_error

    _print_error(f"cannot parse {FORMULA} [bold]x[/]")
    err = capsys.readouterr().err
    assert err == f"error: cannot parse {FORMULA} [bold]x[/]\n"
