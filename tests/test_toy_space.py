"""A new benchmark-style search space in one file: register a toy space and run the commands on it.

The toy space (small conv nets named ``w<width>-d<depth>``, made-up ground truth) is defined and
registered here, in the test module alone; ``rank``, ``bench info``, ``avt-calibrate`` and
``search-proxy`` then work on it with no other change to saswot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from saswot.cli.main import main
from saswot.errors import InvalidArchError
from saswot.spaces import BENCHMARK, BaseSpace, TableBenchmark, get_space, register_space
from saswot.spaces.base import REGISTRY

WIDTHS = (4, 6, 8, 12)
DEPTHS = (1, 2, 3)


class ToySpace(BaseSpace):
    """``w<width>-d<depth>``: ``depth`` conv-BN-ReLU blocks of ``width`` channels, a 1x1 classifier."""

    name = "toy"
    description = "toy conv nets (test only)"
    num_classes = 11
    capabilities = frozenset({BENCHMARK})

    def __init__(self, truth_file: Path | None = None) -> None:
        self.truth_file = truth_file

    def parse(self, text: Any) -> tuple[int, int]:
        if isinstance(text, tuple):
            return text
        m = re.fullmatch(r"w(\d+)-d(\d+)", str(text).strip())
        if m is None or int(m.group(1)) not in WIDTHS or int(m.group(2)) not in DEPTHS:
            raise InvalidArchError(f"toy architecture must look like w8-d2 (widths {WIDTHS}, depths {DEPTHS}): {text!r}")
        return int(m.group(1)), int(m.group(2))

    def key(self, arch: Any) -> str:
        w, d = self.parse(arch)
        return f"w{w}-d{d}"

    def build(self, arch: Any, *, num_classes: int = 11, seed: int | None = None) -> nn.Module:
        w, d = self.parse(arch)
        if seed is not None:
            torch.manual_seed(seed)
        layers: list[nn.Module] = []
        c = 3
        for _ in range(d):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            c = w
        layers.append(nn.Conv2d(c, num_classes, 1))
        return nn.Sequential(*layers)

    def enumerate(self) -> list[tuple[int, int]]:
        return [(w, d) for w in WIDTHS for d in DEPTHS]

    def benchmark(self, path: str | Path | None = None, data_root: str | Path | None = None) -> TableBenchmark:
        return TableBenchmark.load(path or self.truth_file, self, default_task="seg")


def _truth(space: ToySpace) -> dict[str, dict[str, dict[str, float]]]:
    """Made-up ground truth: wider and deeper is better, with a fixed wiggle so that ties are rare."""
    recs = {}
    for i, (w, d) in enumerate(space.enumerate()):
        recs[space.key((w, d))] = {"val_accuracy": 50 + 2.0 * w + 3.0 * d + 0.37 * ((7 * i) % 5), "params": w * d}
    return {"seg": recs}


@pytest.fixture()
def toy(tmp_path: Path) -> Iterator[ToySpace]:
    space = ToySpace()
    space.truth_file = tmp_path / "toy.json"
    space.truth_file.write_text(json.dumps(_truth(space)))
    register_space(space)
    yield space
    REGISTRY.remove("toy")


def test_toy_space_is_registered_and_read(toy: ToySpace) -> None:
    assert get_space("toy") is toy
    assert "toy" in REGISTRY.names(BENCHMARK)
    bench = toy.benchmark()
    assert len(bench) == 12 and bench.default_task == "seg"
    assert bench.ground_truth("w8-d2") == pytest.approx(50 + 16 + 6 + 0.37 * ((7 * 7) % 5))
    with pytest.raises(InvalidArchError):
        toy.parse("w5-d2")
    cost = toy.cost("w4-d1", (8, 8))
    assert cost.params_m == pytest.approx((3 * 4 * 9 + 2 * 4 + 4 * 11 + 11) / 1e6)


def test_commands_work_on_a_registered_toy_space(toy: ToySpace, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # bench info: the table's numbers
    assert main(["bench", "info", "--space", "toy", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["space"] == "toy" and payload["task"] == "seg" and len(payload["archs"]) == 12
    assert payload["archs"]["w12-d3"]["ground_truth"] == pytest.approx(_truth(toy)["seg"]["w12-d3"]["val_accuracy"])

    # rank: params must correlate perfectly in rank with width*depth; the made-up truth mostly follows size
    out = tmp_path / "rank.json"
    code = main(["rank", "--space", "toy", "--proxies", "params,nwot", "--samples", "2", "--sample-size", "8",
                 "--batch-size", "2", "--resolution", "16", "--data", "random", "--quiet", "--threads", "1",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    assert result["space"] == "toy" and result["config"]["num_classes"] == 11 and result["config"]["n_archs"] == 12
    assert set(result["correlation"]) == {"params", "nwot"}
    params = {k: v["scores"]["params"] for k, v in result["archs"].items()}
    assert params["w12-d3"] > params["w12-d1"] > params["w4-d1"]
    assert result["correlation"]["params"]["kendall"]["mean"] > 0.5

    # avt-calibrate: ranges over 6 sampled toy archs, equal to the min/max of the scores
    avt = tmp_path / "avt.json"
    code = main(["avt-calibrate", "--space", "toy", "--n", "6", "--proxies", "params", "--batch-size", "2",
                 "--resolution", "16", "--data", "random", "--quiet", "--threads", "1", "--out", str(avt)])
    assert code == 0, capsys.readouterr().err
    stats = json.loads(avt.read_text())
    sampled = stats["meta"]["archs"]
    assert len(sampled) == 6 and stats["meta"]["space"] == "toy"
    lo, hi = stats["ranges"]["params"]["min"], stats["ranges"]["params"]["max"]
    assert (lo, hi) == (min(params[k] for k in sampled), max(params[k] for k in sampled))

    # search-proxy: a short evolution over the toy archs' statistics (its batch is CamVid's)
    from saswot.datasets.proxy_batch import dataset_available

    if not dataset_available("camvid"):
        pytest.skip("search-proxy's statistics batch needs CamVid; set SASWOT_DATA")
    found = tmp_path / "proxy.json"
    code = main(["search-proxy", "--space", "toy", "--search-archs", "5", "--val-archs", "5", "--generations", "2",
                 "--population", "6", "--topk", "2", "--no-random-baseline", "--quiet", "--threads", "1",
                 "--out", str(found)])
    assert code == 0, capsys.readouterr().err
    doc = json.loads(found.read_text())
    assert doc["space"] == "toy" and doc["formula"]
    assert -1.0 <= doc["kendall_search"] <= 1.0
    assert (tmp_path / "proxy.ckpt.json").is_file()


def test_unknown_space_names_the_registered_ones(toy: ToySpace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "info", "--space", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown search space 'nope'" in err and "toy" in err


def test_fasterseg_space_reads_the_shipped_trained_ground_truth(capsys: pytest.CaptureFixture[str]) -> None:
    from saswot.spaces.fasterseg.space import DEFAULT_BENCH

    entries = [json.loads(line) for line in DEFAULT_BENCH.read_text().splitlines() if line.strip()]
    finished = {}
    for e in entries:
        if e.get("miou") is not None:
            finished.setdefault(e["key"], []).append(e["miou"])
    assert main(["bench", "info", "--space", "fasterseg", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["task"] == "camvid" and set(payload["archs"]) == set(finished)
    key, mious = next(iter(finished.items()))
    assert payload["archs"][key]["ground_truth"] == pytest.approx(100 * sum(mious) / len(mious))
    space = get_space("fasterseg")
    assert space.key(space.parse(key)) == key  # keys read from the benchmark parse back
