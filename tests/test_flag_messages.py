"""Error messages name the flag to change, the file that is wrong and the command that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from saswot.cli.main import main
from saswot.errors import DataNotFoundError, SaswotError

SEARCH = ["search-arch", "--proxy", "params", "--data", "random", "--proxy-resolution", "64x128", "--batch-size", "1"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--population", "1", "--max-gmacs", "27.8"], "--population must be at least 2"),
        (["--population", "3", "--topk", "5", "--max-gmacs", "27.8"], "--topk must be between 1 and --population 3"),
        (["--generations", "-1", "--max-gmacs", "27.8"], "--generations must be >= 0"),
        (["--max-gmacs", "0"], "--max-gmacs must be positive"),
        (["--max-latency-ms", "-3"], "--max-latency-ms must be positive"),
    ],
)
def test_search_settings_errors_name_the_flag(
    extra: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SASWOT_CACHE", str(tmp_path / "cache"))
    assert main([*SEARCH, *extra, "--out", str(tmp_path / "a.json"), "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_a_folder_given_as_checkpoint_is_called_a_folder(tmp_path: Path) -> None:
    from saswot.train.checkpoint import load_checkpoint

    (tmp_path / "best.pt").write_bytes(b"")
    with pytest.raises(DataNotFoundError, match="is a folder; give a .pt file in it \\(best.pt\\)"):
        load_checkpoint(tmp_path)


def test_a_missing_split_names_that_split_and_the_fetch_command(tmp_path: Path) -> None:
    from saswot.datasets.camvid import camvid_samples

    (tmp_path / "train.txt").write_text("")
    (tmp_path / "val.txt").write_text("")
    with pytest.raises(DataNotFoundError) as info:
        camvid_samples(tmp_path, "test")
    text = str(info.value)
    assert "'test' split list" in text and "test.txt" in text and "saswot data fetch camvid" in text


def test_an_unknown_factory_suggests_close_names_only() -> None:
    from saswot.utils.modelref import load_model

    with pytest.raises(SaswotError) as info:
        load_model("torchvision.models:resnet1008", {})
    text = str(info.value)
    assert "did you mean 'resnet18'" in text and "alexnet" not in text


def test_an_unknown_model_name_suggests_the_close_one() -> None:
    from saswot.train.models import resolve_model

    with pytest.raises(SaswotError, match="did you mean 'fasterseg'"):
        resolve_model("fastersg", 11)
