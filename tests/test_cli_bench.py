"""``saswot bench info`` run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from saswot.cli.main import main
from saswot.paths import resolve_data_root

DATA = resolve_data_root(None)
HAVE_DATA = (DATA / "tnb101" / "zc_transbench101_micro.json").is_file()
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="set SASWOT_DATA to the shared data folder")


def _tiny_bench(tmp_path: Path) -> Path:
    rec = {"val_accuracy": 94.5, "params": {"score": 22.210641, "time": 0.1}, "flops": {"score": 25113.985024}}
    data = {"segmentsemantic": {"(1, 2, 4, 2, 0, 0)": rec, "(4, 1, 3, 3, 3, 1)": dict(rec, val_accuracy=94.0)}}
    p = tmp_path / "macro.json"
    p.write_text(json.dumps(data))
    return p


@needs_data
def test_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "info", "--space", "micro", "--data-root", str(DATA)]) == 0
    out = capsys.readouterr().out
    assert "504" in out and "91.8912" in out and "94.7548" in out


@needs_data
def test_json_all_archs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "info", "--space", "macro", "--json", "--data-root", str(DATA)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["space"] == "macro" and payload["task"] == "segmentsemantic"
    assert len(payload["archs"]) == 493
    entry = payload["archs"]["(1, 2, 4, 2, 0, 0)"]
    assert entry == {
        "arch_str": "64-1242-basic",
        "params_m": 22.210641,
        "mflops": 25113.985024,
        "ground_truth": pytest.approx(94.7194, abs=1e-4),
    }


@needs_data
def test_json_one_arch_by_official_string(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "info", "--space", "micro", "--arch", "64-41414-1_00_210", "--json", "--data-root", str(DATA)])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload["archs"]) == ["(1, 0, 0, 2, 1, 0)"]
    assert payload["archs"]["(1, 0, 0, 2, 1, 0)"]["mflops"] == 1198.81728


def test_bench_path_and_arch_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _tiny_bench(tmp_path)
    assert main(["bench", "info", "--space", "macro", "--bench", str(p)]) == 0
    assert "2" in capsys.readouterr().out
    assert main(["bench", "info", "--space", "macro", "--bench", str(p), "--arch", "(4,1,3,3,3,1)"]) == 0
    out = capsys.readouterr().out
    assert "64-413331-basic" in out and "94" in out


def test_arch_not_in_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _tiny_bench(tmp_path)
    assert main(["bench", "info", "--space", "macro", "--bench", str(p), "--arch", "64-2124-basic"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "(2, 1, 2, 4, 0, 0)" in err and "not in" in err


def test_malformed_arch_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _tiny_bench(tmp_path)
    assert main(["bench", "info", "--space", "macro", "--bench", str(p), "--arch", "64-1111-basic"]) == 2
    err = capsys.readouterr().err
    assert "--arch '64-1111-basic'" in err and "stride-2" in err


def test_missing_file_exits_2_with_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "info", "--space", "micro", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "zc_transbench101_micro.json" in err and "SASWOT_DATA" in err


def test_corrupt_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.json"
    p.write_text("{oops")
    assert main(["bench", "info", "--space", "micro", "--bench", str(p)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_missing_task_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _tiny_bench(tmp_path)
    assert main(["bench", "info", "--space", "macro", "--bench", str(p), "--task", "normal"]) == 2
    assert "no records for task 'normal'" in capsys.readouterr().err


def test_bad_space_is_usage_error(tmp_path: Path) -> None:
    assert main(["bench", "info", "--space", "nano", "--bench", str(_tiny_bench(tmp_path))]) == 2
