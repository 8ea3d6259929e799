"""A proxy that fails on a network costs only its own score (n/a with its reason); exit code 3."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from saswot.config import ProxyBatch
from saswot.errors import PARTIAL_EXIT
from saswot.proxies import NA_PREFIX, SENTINEL, ScoringSettings, score_network_detailed

FACTORY = '''
import torch
from torch import nn


class NoInputGrad(nn.Module):
    """A segmenter whose forward refuses inputs that require a gradient (jacov, epe_nas need them)."""

    def __init__(self, num_classes=3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, num_classes, 1))

    def forward(self, x):
        if x.requires_grad:
            raise RuntimeError("this network cannot differentiate its input")
        return self.body(x)


def build(num_classes=3):
    torch.manual_seed(0)
    return NoInputGrad(num_classes)
'''


@pytest.fixture()
def factory_file(tmp_path: Path) -> Path:
    path = tmp_path / "fragile_nets.py"
    path.write_text(FACTORY)
    return path


def _load(path: Path) -> torch.nn.Module:
    import importlib.util

    spec = importlib.util.spec_from_file_location("fragile_nets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def test_a_failing_proxy_is_na_and_the_others_are_kept(factory_file: Path) -> None:
    net = _load(factory_file)
    x, y = torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))
    report = score_network_detailed(net, x, y, ["jacov", "params", "flops"], ScoringSettings(ProxyBatch(num_classes=3)))
    assert report.scores["jacov"] == SENTINEL
    assert report.failed["jacov"].startswith(NA_PREFIX) and "cannot differentiate its input" in report.failed["jacov"]
    assert set(report.unavailable) == {"jacov"}
    assert math.isfinite(report.scores["params"]) and report.scores["params"] > 0
    assert math.isfinite(report.scores["flops"]) and report.scores["flops"] > 0


def test_score_cli_writes_the_partial_result_and_exits_3(
    factory_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], one_torch_thread: None
) -> None:
    from saswot.cli.main import main

    out = tmp_path / "scores.json"
    rc = main(["score", f"{factory_file}:build", "--proxies", "jacov,params", "--input-size", "32x32",
               "--batch-size", "2", "--out", str(out), "--threads", "1"])
    assert rc == PARTIAL_EXIT
    doc = json.loads(out.read_text())
    assert doc["partial"] is True
    assert doc["scores"]["jacov"] is None and doc["scores"]["params"] > 0
    assert "cannot differentiate its input" in doc["failed"]["jacov"]
    captured = capsys.readouterr()
    assert "n/a" in captured.out and "partial result" in captured.err


def test_score_all_without_avt_leaves_saswot_out_with_a_note(
    factory_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], one_torch_thread: None
) -> None:
    from saswot.cli.main import main

    out = tmp_path / "all.json"
    rc = main(["score", f"{factory_file}:build", "--proxies", "all", "--input-size", "32x32",
               "--batch-size", "2", "--out", str(out), "--threads", "1", "--json"])
    assert rc in (0, PARTIAL_EXIT)
    doc = json.loads(out.read_text())
    assert "saswot" not in doc["scores"] and "params" in doc["scores"]
    assert any("saswot" in n and "--avt" in n for n in doc["notes"])


def test_rank_does_not_cache_an_na_score(tmp_path: Path) -> None:
    from functools import partial

    from saswot.workflows.score import ScoreCache, is_partial, score_architectures
    from saswot.proxies import resolve_proxies

    ns: dict = {}
    exec(FACTORY, ns)
    settings = ProxyBatch(batch_size=2, resolution=(8, 8), data="random", num_classes=3)
    cache = ScoreCache(tmp_path, "toy", settings)
    specs = resolve_proxies("jacov,params")
    per = score_architectures(
        ["a"], specs, settings, partial(_build_any, ns["build"]), key=str, cache=cache, progress=False
    )
    assert per["a"].failed["jacov"].startswith(NA_PREFIX)
    assert is_partial(per)
    assert set(cache.get("a")) == {"params"}  # the n/a score is not cached: a rerun tries again


def _build_any(build, arch):  # noqa: ANN001, ANN202
    return build(3)


def test_search_arch_marks_failing_candidates_na_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from saswot.cli.main import main
    from saswot.search.segmenter_scoring import ProxyScorer

    real = ProxyScorer.score_or_reason

    def flaky(self: ProxyScorer, arch):  # noqa: ANN001, ANN202
        if int(arch.key().encode().hex(), 16) % 3 == 0:  # a third of the networks: the proxy raises there
            return None, f"{NA_PREFIX}RuntimeError: no double backward for this network"
        return real(self, arch)

    monkeypatch.setattr(ProxyScorer, "score_or_reason", flaky)
    monkeypatch.setenv("SASWOT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "arch.json"
    rc = main(["search-arch", "--proxy", "params", "--generations", "2", "--population", "4", "--topk", "2",
               "--proxy-resolution", "64x128", "--batch-size", "1", "--data", "random", "--max-gmacs", "30",
               "--seed", "1", "--out", str(out), "--threads", "1"])
    assert rc == PARTIAL_EXIT
    doc = json.loads(out.read_text())
    assert doc["search"]["unavailable"] and all("no double backward" in r for r in doc["search"]["unavailable"].values())
    assert doc["search"]["score"] is not None  # the search went on with the other candidates
    assert "rejected as n/a" in capsys.readouterr().err
