"""The import graph of the package, read from the source (AST), and the shape of the test suite.

* no import cycle between saswot modules (a ``TYPE_CHECKING`` import counts: it is a cycle the
  reader must hold in mind too);
* no import inside a function, except where it keeps ``saswot --help``/``--version`` from loading
  torch or where it loads a documented optional dependency; the exceptions are listed once, in
  :data:`ALLOWED`, with their reason;
* the plug-in rule: ``saswot.spaces.fasterseg`` reaches only the space protocol, training, the
  datasets and the runtime/utils layers, never ranking, workflows or the searches;
* no test module imports another (shared helpers are fixtures in ``conftest.py``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import saswot

ROOT = Path(saswot.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent

#: Function-level imports that stay, by module (relative to saswot/): why. All of them keep torch out
#: of what runs before a command's work: ``saswot --help``, ``saswot <command> --help``, ``saswot
#: spaces``, ``bench info`` and every option error answer at once (``tests/test_instant_answers.py``
#: checks that torch is not imported there).
_COMMAND = "a command's --help and option errors answer without torch: the command's work loads when it runs"
_SPACE = "listing the spaces and reading arch or ground-truth files need no torch: building and costing networks load it"
ALLOWED: dict[str, str] = {
    "runtime/threads.py": "choosing the thread count (and rejecting a bad one) needs no torch; setting it does",
    "cli/arch_cmd.py": _COMMAND,
    "cli/minibench_cmd.py": _COMMAND,
    "cli/rank_cmd.py": _COMMAND,
    "cli/score_cmd.py": _COMMAND,
    "cli/search_proxy_cmd.py": _COMMAND,
    "cli/train_cmd.py": _COMMAND,
    "spaces/base.py": _SPACE,
    "spaces/fasterseg/space.py": _SPACE,
    "spaces/tnb101/space.py": _SPACE,
}
#: Optional dependencies that are imported where they are used (``pip install "saswot[ray]"``; ONNX checks).
OPTIONAL = ("ray", "onnxruntime")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement, with whether it is inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.stmt, bool]]:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, inner
            yield from walk(child, inner)

    yield from walk(tree, False)


def _targets(node: ast.stmt, modules: set[str]) -> list[str]:
    """The saswot modules an import statement loads (a ``from pkg import sub`` names the submodule)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        assert isinstance(node, ast.ImportFrom)
        names = [f"{node.module}.{a.name}" for a in node.names] + [node.module or ""]
    out = []
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name.startswith("saswot"):
            out.append(name)
    return out


def _graph() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    modules = set(files)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    inside: dict[str, list[str]] = {}
    for mod, path in files.items():
        for node, in_function in _imports(ast.parse(path.read_text())):
            if in_function:
                top = (node.names[0].name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
                if top not in OPTIONAL:
                    inside.setdefault(path.relative_to(ROOT).as_posix(), []).append(f"line {node.lineno}")
                continue
            edges[mod] |= {t for t in _targets(node, modules) if t != mod and not mod.startswith(t + ".")}
    return edges, inside


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_no_imports_inside_functions_but_the_listed_ones() -> None:
    _, inside = _graph()
    unexpected = {m: lines for m, lines in inside.items() if m not in ALLOWED}
    assert unexpected == {}, f"imports inside functions: {unexpected}; move them to the top or list the module in ALLOWED"
    stale = [m for m in ALLOWED if m not in inside]
    assert stale == [], f"{stale} no longer import inside functions: drop them from ALLOWED"


def test_fasterseg_is_a_plug_in() -> None:
    edges, _ = _graph()
    allowed = ("saswot.spaces", "saswot.train", "saswot.datasets", "saswot.runtime", "saswot.utils",
               "saswot.errors", "saswot.config", "saswot.registry")
    reached = {t for m, ts in edges.items() if m.startswith("saswot.spaces.fasterseg") for t in ts}
    assert sorted(t for t in reached if not t.startswith(allowed)) == []


def test_no_test_module_imports_another() -> None:
    offences = []
    for path in sorted(TESTS.glob("test_*.py")):
        for node, _ in _imports(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            offences += [f"{path.name}: {n}" for n in names if n.split(".")[-1].startswith("test_") or n == "tests"]
    assert offences == []
