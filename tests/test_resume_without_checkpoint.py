"""``--resume`` with nothing to resume is one clear error, before any work."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from saswot.cli.main import main


@pytest.mark.parametrize("command", [["search-proxy", "--space", "micro"], ["search-arch", "--proxy", "saswot", "--max-gmacs", "27.8"]])
def test_resume_without_a_checkpoint_is_an_error(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.json"
    t0 = time.perf_counter()
    rc = main([*command, "--out", str(out), "--resume"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no checkpoint at" in err and "leave out --resume" in err
    assert time.perf_counter() - t0 < 30
    assert not list(tmp_path.iterdir())  # nothing was started


def test_a_folder_where_the_checkpoint_should_be_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "result.ckpt.json").mkdir()
    rc = main(["search-proxy", "--space", "micro", "--out", str(tmp_path / "result.json"), "--resume"])
    assert rc == 2
    assert "is a folder, not a checkpoint" in capsys.readouterr().err
