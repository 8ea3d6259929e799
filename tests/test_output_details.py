"""Output details: units, one number format per evaluation, an export check that reads as passed, notes
for padded crops and concurrent runs, and what the main job wrote and what to run next."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from saswot.config import ProxyBatch
from saswot.cli.main import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_score_table_has_units(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    factory = tmp_path / "nets.py"
    factory.write_text(
        "from torch import nn\n\ndef build():\n    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 1))\n"
    )
    assert main(["score", f"{factory}:build", "--proxies", "flops,params,nwot", "--input-size", "32x32",
                 "--batch-size", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "MMACs" in out and "M params" in out and "unit" in out


def test_eval_prints_percentages_with_two_decimals_and_export_reads_passed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_camvid: Callable[..., Path]
) -> None:
    root = make_camvid(tmp_path / "data", n_train=4, n_val=2)
    run = tmp_path / "run"
    assert main(["train", "tiny", "--dataset", "camvid", "--data-root", str(root), "--epochs", "1", "--crop", "32x32",
                 "--batch-size", "2", "--workers", "0", "--out", str(run), "--quiet", "--max-batches", "1"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run / "best.pt"), "--dataset", "camvid", "--split", "val", "--data-root", str(root),
                 "--workers", "0", "--quiet", "--out", str(tmp_path / "e.json")]) == 0
    table = capsys.readouterr().out
    res = json.loads((tmp_path / "e.json").read_text())
    assert "IoU (%)" in table and f"{100 * res['miou']:.2f}" in table
    for value in res["per_class"].values():
        assert f"{100 * value:.2f}" in table
    assert main(["export", str(run / "best.pt"), "--onnx", str(tmp_path / "m.onnx"), "--resolution", "32x32"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "passed" in text and "rel diff" not in text
    report = json.loads((tmp_path / "m.onnx.json").read_text())
    assert 0.0 <= report["max_tolerance_used"] <= 1.0


def test_compare_logits_reports_the_share_of_the_bound_used() -> None:
    from saswot.train.export import compare_logits

    ref = np.array([[[[0.0, 1.0]], [[2.0, -3.0]]]], dtype=np.float32)
    out = ref + np.float32(5e-4)
    report = compare_logits(out, ref, atol=1e-3, rtol=1e-3)
    assert report["max_rel_diff"] > 1.0  # a logit at zero: the relative difference means nothing there
    assert report["max_tolerance_used"] == pytest.approx(0.5, rel=1e-3)


def test_a_crop_larger_than_the_images_gets_a_note() -> None:
    from saswot.cli.train_cmd import crop_note

    note = crop_note("camvid", (512, 1024))
    assert note is not None and "360x480" in note and "--crop 360x480" in note
    assert crop_note("camvid", (360, 480)) is None and crop_note("mine", (512, 1024)) is None


def test_the_main_job_lists_its_files_and_the_next_step(tmp_path: Path) -> None:
    from saswot.cli.arch_cmd import written_and_next

    out = tmp_path / "arch.json"
    for name in ("arch.json", "arch.ckpt.json", "arch.curve.png"):
        (tmp_path / name).write_text("{}")
    lines = written_and_next(out)
    assert lines[0] == "wrote:" and sum(str(tmp_path) in line for line in lines[:4]) == 3
    assert any(line.strip().startswith("saswot train") for line in lines)


def test_a_second_run_on_one_cache_is_told(tmp_path: Path) -> None:
    from _tiny_nets import tiny_model

    from saswot.proxies import resolve_proxies
    from saswot.workflows.score import ScoreCache, score_architectures

    settings = ProxyBatch(batch_size=2, resolution=(16, 16), data="random", num_classes=5)
    notes: list[str] = []
    cache = ScoreCache(tmp_path, "toy", settings, on_note=notes.append)
    cache.folder.mkdir(parents=True)
    (cache.folder / f".run-{os.uname().nodename}-{os.getppid()}").write_text("")  # a live process
    (cache.folder / f".run-{os.uname().nodename}-999999999").write_text("")  # a dead one: cleaned up
    score_architectures(["0"], resolve_proxies("params"), settings, lambda a: tiny_model(0), key=str, cache=cache,
                        progress=False)
    assert len(notes) == 1 and f"pid {os.getppid()}" in notes[0] and "computed by both" in notes[0]
    assert sorted(p.name for p in cache.folder.glob(".run-*")) == [f".run-{os.uname().nodename}-{os.getppid()}"]


def test_an_undefined_epe_nas_says_why() -> None:
    import torch
    from torch import nn

    from saswot.proxies import SENTINEL, ScoringSettings, score_network_detailed

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 3, 1))
    x, y = torch.randn(2, 3, 8, 8), torch.full((2, 8, 8), 255)  # no valid label at all
    report = score_network_detailed(net, x, y, ["epe_nas"], ScoringSettings(ProxyBatch(num_classes=3)))
    assert report.scores["epe_nas"] == SENTINEL
    assert report.failed["epe_nas"].startswith("non-finite value nan: undefined here")
    assert "a larger proxy batch" in report.failed["epe_nas"]


def test_fps_reports_progress_on_every_run() -> None:
    from saswot.train.fps import measure_fps
    from saswot.train.models import ModelSpec, build_model

    steps: list[int] = []
    res = measure_fps(build_model(ModelSpec("tiny", 5), seed=0), (32, 32), "cpu", warmup=2, runs=3,
                      on_step=lambda: steps.append(1))
    assert len(steps) == 5 and res.runs == 3


def test_fps_cli_shows_progress_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fps", "tiny", "--resolution", "32x32", "--runs", "3", "--warmup", "1", "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert "fps 32x32" in err and "4/4" in err
