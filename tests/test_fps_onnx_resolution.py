"""``saswot fps model.onnx`` at a resolution the graph was not exported at: one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from saswot.cli.main import main
from saswot.train.export import export_onnx
from saswot.train.models import ModelSpec, build_model


@pytest.fixture()
def onnx_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.onnx"
    export_onnx(build_model(ModelSpec("tiny", 5), seed=0).eval(), path, (32, 48))
    return path


def test_fps_at_another_resolution_names_the_exported_one(onnx_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["fps", str(onnx_file), "--resolution", "64x96", "--runs", "2", "--warmup", "0", "--threads", "1"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "exported at 32x48" in err and "--resolution 32x48" in err and "This is a bug" not in err


def test_fps_on_a_file_that_is_not_onnx_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model at all")
    assert main(["fps", str(bad), "--resolution", "32x48", "--runs", "2", "--warmup", "0", "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot load the ONNX file" in err
