"""Tests of the shared core: data-root resolution, atomic output, CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from saswot import __version__
from saswot.cli.main import main
from saswot.errors import CorruptDataError, DataNotFoundError
from saswot.utils.io import atomic_path, read_json, write_json
from saswot.utils.paths import require_path, resolve_data_root


def test_data_root_precedence(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SASWOT_DATA", raising=False)
    assert resolve_data_root() == Path("data")
    monkeypatch.setenv("SASWOT_DATA", str(tmp_path))
    assert resolve_data_root() == tmp_path
    assert resolve_data_root(tmp_path / "x") == tmp_path / "x"


def test_missing_data_message_names_fix(tmp_path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        require_path(tmp_path / "camvid", "camvid", "CamVid folder")
    msg = str(info.value)
    assert "CamVid folder" in msg and "SegNet" in msg and "SASWOT_DATA" in msg


def test_write_json_is_atomic_and_sanitises(tmp_path) -> None:
    out = tmp_path / "sub" / "r.json"
    write_json(out, {"a": 1.5, "b": float("nan"), "c": [float("inf")]})
    assert json.loads(out.read_text()) == {"a": 1.5, "b": "nan", "c": ["inf"]}
    # a failure inside the block leaves the previous file untouched and no temp file behind
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert json.loads(out.read_text())["a"] == 1.5
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.json"]


def test_read_json_errors(tmp_path) -> None:
    with pytest.raises(DataNotFoundError):
        read_json(tmp_path / "none.json", "bench file")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CorruptDataError, match="not valid JSON"):
        read_json(bad, "bench file")


def test_cli_version_and_help(capsys) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "saswot" in out.lower()


def test_cli_unknown_command_is_usage_error() -> None:
    assert main(["no-such-command"]) == 2
