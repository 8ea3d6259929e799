"""The CLI entry point: lazy loading, --version/--help without torch, --threads everywhere, python -m saswot."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import pytest

from saswot.cli.main import COMMANDS, load_command, main
from saswot.errors import SaswotError
from saswot.runtime.threads import ThreadChoice, choose_threads

ENV = {**os.environ, "COLUMNS": "200"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV, timeout=120)


def test_help_and_version_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from saswot.cli.main import main\n"
        "rc = [main(['--help']), main(['--version'])]\n"
        "print('RC', rc, 'TORCH', 'torch' in sys.modules)\n"
    )
    res = _run("-c", code)
    assert res.returncode == 0, res.stderr
    assert "RC [0, 0] TORCH False" in res.stdout
    for name in COMMANDS:
        assert name in res.stdout
    assert "<bool>" not in res.stdout


def test_python_dash_m_saswot() -> None:
    res = _run("-m", "saswot", "--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("saswot ")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_matches_command_docstring(name: str) -> None:
    command = load_command(name)
    doc = inspect.cleandoc(command.help or "").splitlines()[0].strip()
    assert COMMANDS[name].help == doc


@pytest.mark.parametrize("name", [n for n, e in COMMANDS.items() if e.threads])
def test_computing_commands_take_threads(name: str) -> None:
    opts = {p.name for p in load_command(name).params}
    assert "threads" in opts


@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_bool_metavar_in_command_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    assert "<bool>" not in capsys.readouterr().out


def test_thread_choice_precedence() -> None:
    assert choose_threads(3, environ={"OMP_NUM_THREADS": "1"}, cores=2, load=0.0) == ThreadChoice(3, "option", 2, None)
    assert choose_threads(None, environ={"OMP_NUM_THREADS": "1"}, cores=8, load=0.0).threads == 1
    # idle 2-core machine: both cores; one busy process beside it: one core; overloaded: still one
    assert choose_threads(None, environ={}, cores=2, load=0.1).threads == 2
    assert choose_threads(None, environ={}, cores=2, load=1.0).threads == 1
    assert choose_threads(None, environ={}, cores=2, load=7.5).threads == 1
    assert choose_threads(None, environ={}, cores=16, load=3.2).threads == 13


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_bad_thread_environment_is_a_clear_error(bad: str) -> None:
    with pytest.raises(SaswotError, match="OMP_NUM_THREADS"):
        choose_threads(None, environ={"OMP_NUM_THREADS": bad})
    with pytest.raises(SaswotError, match="threads must be at least 1"):
        choose_threads(0)


def test_tables_wrap_long_cells_and_format_each_column_alike() -> None:
    from rich.console import Console

    from saswot.utils.tables import render_table

    path = "/a/very/long/path/" + "x" * 60 + "/result.json"
    console = Console(width=50, record=True)
    console.print(render_table("t", ["what"], [[path]]))
    text = console.export_text()
    assert "…" not in text
    assert path in "".join(ch for ch in text if ch.isalnum() or ch in "/._")  # whole path, folded over lines
    console.print(render_table("t", ["what", "value", "big"], [["a", 0.00816, 2e7], ["b", 3.625, 1.0]]))
    text = console.export_text()
    assert "0.00816" in text and "3.62500" in text  # one fixed format for the column, 3 digits of its smallest
    assert "2.000e+07" in text and "1.000e+00" in text


def _commands(name: str) -> list:
    command = load_command(name)
    return list(command.commands.values()) if hasattr(command, "commands") else [command]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_has_help(name: str) -> None:
    for command in _commands(name):
        bare = [p.name for p in command.params if p.param_type_name == "option" and not (p.help or "").strip()]
        assert not bare, f"{name} {command.name}: options without help: {bare}"


def test_one_cache_root_announced_once(tmp_path, monkeypatch, capsys) -> None:
    from saswot.utils.paths import cache_dir

    monkeypatch.setenv("SASWOT_CACHE", str(tmp_path / "c"))
    assert cache_dir("scores") == tmp_path / "c" / "scores"
    assert "SASWOT_CACHE to move it" in capsys.readouterr().err
    assert cache_dir("autoproxy") == tmp_path / "c" / "autoproxy"
    assert capsys.readouterr().err == ""


def _raised_in(filename: str, exc: str) -> BaseException:
    """The exception ``raise <exc>`` gives when raised from code compiled as ``filename``."""
    scope: dict = {}
    exec(compile(f"def serve():\n    raise {exc}\n", filename, "exec"), scope)
    try:
        scope["serve"]()
    except BaseException as e:  # noqa: BLE001 - any exception object is what the hooks receive
        return e
    raise AssertionError("not raised")


def test_fd_sharing_thread_errors_are_quiet_and_others_are_not() -> None:
    """After Ctrl-C a worker may die while fetching a shared tensor; multiprocessing's sharing thread then
    raises ConnectionResetError, which the entry point's thread hook drops. Any other thread error is passed on."""
    import threading
    from types import SimpleNamespace

    from saswot.runtime.fdsharing import quiet_threading_hook

    seen: list[type] = []
    hook = quiet_threading_hook(lambda args: seen.append(args.exc_type))

    def raised_in(filename: str, exc: str) -> SimpleNamespace:
        e = _raised_in(filename, exc)
        return SimpleNamespace(exc_type=type(e), exc_value=e, exc_traceback=e.__traceback__,
                               thread=threading.current_thread())

    sharer = "/usr/lib/python3.11/multiprocessing/resource_sharer.py"
    hook(raised_in(sharer, "ConnectionResetError(104, 'Connection reset by peer')"))
    assert seen == []
    hook(raised_in(sharer, "ValueError('a real bug')"))
    hook(raised_in("/somewhere/else.py", "ConnectionResetError()"))
    assert seen == [ValueError, ConnectionResetError]


def test_fd_sharing_errors_reported_through_sys_excepthook_are_quiet_too() -> None:
    """Python's resource_sharer thread catches its own exception and calls sys.excepthook directly
    (not threading.excepthook); the entry point and saswot's worker processes filter that hook the same way."""
    from saswot.runtime.fdsharing import quiet_sys_hook

    seen: list[type] = []
    hook = quiet_sys_hook(lambda t, v, tb: seen.append(t))

    def raise_in(filename: str, exc: str) -> tuple:
        e = _raised_in(filename, exc)
        return type(e), e, e.__traceback__

    sharer = "/usr/lib/python3.11/multiprocessing/resource_sharer.py"
    hook(*raise_in(sharer, "ConnectionResetError(104, 'Connection reset by peer')"))
    hook(*raise_in(sharer, "EOFError()"))
    assert seen == []
    hook(*raise_in(sharer, "KeyError('a real bug')"))
    hook(*raise_in("/somewhere/else.py", "ConnectionResetError()"))
    assert seen == [KeyError, ConnectionResetError]


def test_main_restores_both_exception_hooks() -> None:
    import threading

    from saswot.cli.main import main

    before = (sys.excepthook, threading.excepthook)
    assert main(["--version"]) == 0
    assert (sys.excepthook, threading.excepthook) == before


def test_main_keeps_its_quiet_sys_hook_while_a_command_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer.__call__ replaces sys.excepthook with typer's own (which prints every traceback); the entry
    point runs the click command directly so that the descriptor-sharing filter stays in force."""
    import typer

    from saswot.cli.main import main

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("Typer.__call__ would replace sys.excepthook")

    monkeypatch.setattr(typer.Typer, "__call__", forbidden)
    assert main(["--version"]) == 0
    assert main(["spaces"]) == 0


def test_ctrl_c_inside_a_command_says_so_and_keeps_the_quiet_hooks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """typer turns a KeyboardInterrupt inside a command into exit code 130: the entry point prints its
    one line and leaves the descriptor-sharing filter installed (workers may still be going down)."""
    import threading

    import saswot.cli.bench_cmd as bench_cmd
    from saswot.cli.main import INTERRUPTED_EXIT, main

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_cmd, "space_summary", interrupted)
    before = (sys.excepthook, threading.excepthook)
    try:
        assert main(["spaces"]) == INTERRUPTED_EXIT == 130
        assert "interrupted; finished results and caches are kept" in capsys.readouterr().err
        assert "quiet_sys_hook" in sys.excepthook.__qualname__
        assert "quiet_threading_hook" in threading.excepthook.__qualname__
    finally:
        sys.excepthook, threading.excepthook = before
