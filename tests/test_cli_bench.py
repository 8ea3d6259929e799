"""``saswot bench info`` run in-process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from saswot.cli.main import main
from saswot.utils.paths import resolve_data_root

DATA = resolve_data_root(None)
HAVE_DATA = (DATA / "tnb101" / "zc_transbench101_micro.json").is_file()
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="set SASWOT_DATA to the shared data folder")


def _tiny_bench(tmp_path: Path) -> Path:
    rec = {"val_accuracy": 94.5, "params": {"score": 22.210641, "time": 0.1}, "flops": {"score": 25113.985024}}
    other = dict(rec, val_accuracy=94.0, params={"score": 30.123456, "time": 0.1}, flops={"score": 31000.25})
    data = {"segmentsemantic": {"(1, 2, 4, 2, 0, 0)": rec, "(4, 1, 3, 3, 3, 1)": other}}
    p = tmp_path / "macro.json"
    p.write_text(json.dumps(data))
    return p


def _table_rows(out: str) -> dict[str, str]:
    """``field -> value`` of a two-column rich table; a cell folded onto more lines is joined."""
    rows: dict[str, str] = {}
    last = None
    for line in out.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", line)]
        if len(cells) != 4 or cells[0] or cells[3]:
            continue  # not a body row (title, borders, header separator)
        field, value = cells[1], cells[2]
        if field:
            rows[field] = value
            last = field
        elif last is not None:
            rows[last] += value
    return rows


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
    summary = _table_rows(capsys.readouterr().out)
    # every row of the summary, read back from the two records of the fixture
    assert summary.pop("file") == str(p)
    assert summary == {
        "space": "macro",
        "task": "segmentsemantic",
        "tasks in file": "segmentsemantic",
        "architectures": "2",
        "ground truth min": "94.0000",
        "ground truth max": "94.5000",
        "ground truth mean": "94.2500",
        "params (M) min / max": "22.210641 / 30.123456",
        "MFLOPs min / max": "25113.985024 / 31000.250000",
        "recorded proxies": "params, flops",
    }
    # one architecture, given in a key form without spaces: its own record, not the other one's
    assert main(["bench", "info", "--space", "macro", "--bench", str(p), "--arch", "(4,1,3,3,3,1)"]) == 0
    assert _table_rows(capsys.readouterr().out) == {
        "key": "(4, 1, 3, 3, 3, 1)",
        "arch_str": "64-413331-basic",
        "ground truth (val_accuracy)": "94",
        "params (M)": "30.123456",
        "FLOPs (M)": "31000.25",
    }
    # the same two records as JSON
    assert main(["bench", "info", "--space", "macro", "--bench", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "space": "macro",
        "task": "segmentsemantic",
        "archs": {
            "(1, 2, 4, 2, 0, 0)": {
                "arch_str": "64-1242-basic",
                "params_m": 22.210641,
                "mflops": 25113.985024,
                "ground_truth": 94.5,
            },
            "(4, 1, 3, 3, 3, 1)": {
                "arch_str": "64-413331-basic",
                "params_m": 30.123456,
                "mflops": 31000.25,
                "ground_truth": 94.0,
            },
        },
    }


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
