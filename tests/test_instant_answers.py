"""--help of every command, `saswot spaces`, `bench info` and option errors answer without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from saswot.cli.main import COMMANDS

ARG_ERRORS = [
    ["rank", "--space", "nospace", "--proxies", "nwot", "--out", "{tmp}/r.json"],
    ["rank", "--space", "micro", "--proxies", "nwot,nope", "--out", "{tmp}/r.json"],
    ["rank", "--space", "micro", "--proxies", "nwot", "--resolution", "big", "--out", "{tmp}/r.json"],
    ["avt-calibrate", "--space", "nospace", "--out", "{tmp}/a.json"],
    ["score", "pkg:build", "--input-size", "big"],
    ["score", "pkg:build", "--proxies", "nope"],
    ["search-arch", "--proxy", "nope", "--max-gmacs", "27.8", "--out", "{tmp}/a.json"],
    ["search-arch", "--proxy", "nwot", "--max-gmacs", "0", "--out", "{tmp}/a.json"],
    ["search-arch", "--proxy", "nwot", "--max-latency-ms", "-1", "--out", "{tmp}/a.json"],
    ["search-arch", "--proxy", "nwot", "--population", "1", "--max-gmacs", "27.8", "--out", "{tmp}/a.json"],
    ["search-arch", "--proxy", "nwot", "--population", "3", "--topk", "4", "--max-gmacs", "27.8", "--out", "{tmp}/a.json"],
    ["search-arch", "--proxy", "nwot", "--generations", "-1", "--max-gmacs", "27.8", "--out", "{tmp}/a.json"],
    ["search-proxy", "--space", "nospace", "--out", "{tmp}/p.json"],
    ["fps", "tiny", "--resolution", "big"],
    ["eval", "{tmp}", "--dataset", "camvid"],  # a folder given as a checkpoint
    ["export", "{tmp}/missing.pt", "--onnx", "{tmp}/m.onnx"],
    ["rank", "--proxies", "nwot", "--out", "{tmp}/r.json"],  # a usage error (missing --space)
    ["rank", "--space", "micro", "--proxies", "nwot", "--out", "{tmp}/r.json", "--threads", "0"],
    # errors found by reading a file or resolving a model name
    ["arch-info", "{tmp}/missing.json"],
    ["train", "nosuchmodel", "--dataset", "camvid", "--out", "{tmp}/run"],
    ["train", "fastersg", "--dataset", "camvid", "--out", "{tmp}/run"],
    ["minibench", "rank", "--bench", "{tmp}/missing.jsonl", "--proxies", "nwot"],
]

SCRIPT = """
import json, sys
from saswot.cli.main import main
report = []
for args in json.loads(sys.argv[1]):
    try:
        rc = main(args)
    except SystemExit as exc:
        rc = exc.code
    report.append([args, rc, "torch" in sys.modules])
print(json.dumps(report))
"""


def _run(invocations: list[list[str]], env_data: str | None = None) -> list[list]:
    import os

    env = dict(os.environ)
    if env_data is not None:
        env["SASWOT_DATA"] = env_data
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(invocations)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_help_answers_without_torch() -> None:
    helps = [["--help"], ["spaces"], ["spaces", "--json"]]
    helps += [[name, "--help"] for name in COMMANDS]
    helps += [["bench", "info", "--help"], ["minibench", "rank", "--help"], ["minibench", "run", "--help"]]
    helps += [["data", "fetch", "--help"]]
    for args, rc, torch_loaded in _run(helps):
        assert rc == 0, args
        assert not torch_loaded, f"saswot {' '.join(args)} imported torch"


def test_option_errors_answer_without_torch(tmp_path: Path) -> None:
    invocations = [[a.format(tmp=tmp_path) for a in args] for args in ARG_ERRORS]
    for args, rc, torch_loaded in _run(invocations):
        assert rc == 2, args
        assert not torch_loaded, f"saswot {' '.join(args)} imported torch before rejecting its options"


def test_help_draws_no_figure_module() -> None:
    """matplotlib (about 0.4 s of imports) loads where a figure is drawn, not for --help."""
    code = (
        "import sys\nfrom saswot.cli.main import main\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n        main([name, '--help'])\n    except SystemExit:\n        pass\n"
        "print('matplotlib' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *COMMANDS], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "False"


def test_bench_info_reads_a_table_without_torch() -> None:
    from saswot.utils.paths import resolve_data_root

    data = resolve_data_root()
    if not (data / "tnb101").is_dir():
        pytest.skip("TNB101 benchmark file not found; set SASWOT_DATA")
    (args, rc, torch_loaded), = _run([["bench", "info", "--space", "micro"]], str(data))
    assert rc == 0 and not torch_loaded


def test_the_help_proxy_list_is_the_registry() -> None:
    from saswot.cli._options import PROXY_NAMES
    from saswot.proxies import REGISTRY

    assert [n.strip() for n in PROXY_NAMES.split(",")] == REGISTRY.names()


def test_the_fasterseg_ground_truth_is_read_without_torch() -> None:
    (args, rc, torch_loaded), = _run([["bench", "info", "--space", "fasterseg"]])
    assert rc == 0 and not torch_loaded


def test_the_precheck_model_list_is_the_registry() -> None:
    from saswot.cli._options import MODEL_NAMES, check_model_name
    from saswot.errors import UnknownNameError
    from saswot.train.models import MODELS

    assert sorted(MODEL_NAMES) == sorted(MODELS.names())
    check_model_name("fasterseg")  # a built-in architecture of the FasterSeg space
    with pytest.raises(UnknownNameError, match="did you mean 'fasterseg'"):
        check_model_name("fastersg")
