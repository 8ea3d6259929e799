"""The architecture rule of the search-space registry: outside a space's own package, no module
wires a space in by name (a string constant ``"micro"``/``"macro"``/``"fasterseg"``) or by import.

Commands and workflows resolve ``--space`` through :mod:`saswot.spaces`; the exceptions below are
listed with their reason, so a new one is a decision, not an accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

import saswot

ROOT = Path(saswot.__file__).resolve().parent
SPACE_NAMES = {"micro", "macro", "fasterseg"}
SPACE_PACKAGES = ("spaces/tnb101/", "spaces/fasterseg/")
SPACE_MODULES = tuple("saswot." + p.strip("/").replace("/", ".") for p in SPACE_PACKAGES)
#: module or folder (relative to saswot/) -> why it may name a space
ALLOWED = {
    "cli/minibench_cmd.py": "the command of the FasterSeg space's trained benchmark (saswot.workflows.minibench)",
    "workflows/minibench/": "the workflow that trains the FasterSeg space's ground truth",
}


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if node.value in SPACE_NAMES:
                found.append(f"{path.name}:{node.lineno} string {node.value!r}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(SPACE_MODULES):
                found.append(f"{path.name}:{node.lineno} import {node.module}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(SPACE_MODULES):
                    found.append(f"{path.name}:{node.lineno} import {alias.name}")
    return found


def test_no_module_outside_a_space_package_names_a_space() -> None:
    offences = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(SPACE_PACKAGES) or any(rel == a or (a.endswith("/") and rel.startswith(a)) for a in ALLOWED):
            continue
        found = _offences(path)
        if found:
            offences[rel] = found
    assert not offences, f"modules that wire a search space in by name: {offences}"


def test_the_allowed_exceptions_still_need_it() -> None:
    """An exception that no longer names a space is removed from the list."""
    for rel in ALLOWED:
        paths = sorted((ROOT / rel).rglob("*.py")) if rel.endswith("/") else [ROOT / rel]
        assert any(_offences(p) for p in paths), f"{rel} no longer names a space: drop it from ALLOWED"
