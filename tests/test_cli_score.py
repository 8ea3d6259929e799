"""``saswot score pkg.module:function``: any nn.Module factory scored from the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from saswot.cli.main import main

FACTORY = '''
import torch
from torch import nn


class DictSeg(nn.Module):
    def __init__(self, num_classes=4, width=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x):
        return {"out": self.head(self.body(x)), "aux": x.mean()}


def build(num_classes=4, width=4):
    torch.manual_seed(0)
    return DictSeg(num_classes, width)


def classifier():
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(3))


NOT_A_MODEL = 3
'''


@pytest.fixture()
def factory_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_nets.py"
    path.write_text(FACTORY)
    return path


def test_score_factory_with_dict_output(factory_file: Path, tmp_path: Path, one_torch_thread: None) -> None:
    out = tmp_path / "scores.json"
    rc = main(["score", f"{factory_file}:build", "--kwargs", '{"num_classes": 5}', "--proxies", "nwot,snip,params",
               "--input-size", "32x32", "--batch-size", "2", "--out", str(out), "--threads", "1"])
    assert rc == 0
    result = json.loads(out.read_text())
    assert result["num_classes"] == 5  # read from the model's output channels
    assert set(result["scores"]) == {"nwot", "snip", "params"}
    assert all(math.isfinite(v) for v in result["scores"].values())
    # params of the network: 3*4*9+4 + 2*4 + 4*4*9+4 + 2*4 + 4*5+5
    assert result["scores"]["params"] == pytest.approx((112 + 8 + 148 + 8 + 25) / 1e6)


@pytest.mark.parametrize(
    ("ref", "extra", "message"),
    [
        ("no_colon_here", [], "pkg.module:function"),
        ("definitely_not_a_module_xyz:build", [], "cannot import module"),
        ("{file}:missing", [], "has no attribute 'missing'"),
        ("{file}:NOT_A_MODEL", [], "not a callable"),
        ("{file}:classifier", [], "-D output"),
        ("{file}:build", ["--kwargs", "{bad json"], "--kwargs is not valid JSON"),
        ("{file}:build", ["--kwargs", '{"depth": 3}'], "unexpected keyword"),
        ("{file}:build", ["--proxies", "nwot,not_a_proxy"], "not_a_proxy"),
        ("{file}:build", ["--proxies", "saswot"], "--avt"),
        ("{file}:build", ["--input-size", "big"], "--input-size"),
    ],
)
def test_score_bad_input_is_one_clear_error(
    factory_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], ref: str, extra: list[str], message: str
) -> None:
    out = tmp_path / "never.json"
    rc = main(["score", ref.format(file=factory_file), "--input-size", "32x32", "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert rc != 0
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()
