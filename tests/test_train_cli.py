"""End-to-end CLI: train → eval → fps → export on a tiny synthetic CamVid."""

from __future__ import annotations

import json

import pytest

from saswot.cli.main import main


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def camvid_root(make_camvid, tmp_path):
    return make_camvid(tmp_path / "data", n_train=4, n_val=2)


def test_train_eval_fps_export_cli(tmp_path, camvid_root, capsys) -> None:
    run = tmp_path / "run"
    code = main(["train", "tiny", "--dataset", "camvid", "--data-root", str(camvid_root), "--epochs", "1",
                 "--crop", "32x32", "--batch-size", "2", "--workers", "0", "--out", str(run), "--quiet"])
    assert code == 0
    assert {"config.json", "metrics.jsonl", "last.pt", "best.pt", "summary.json"} <= {p.name for p in run.iterdir()}

    out = tmp_path / "eval.json"
    vis = tmp_path / "vis"
    code = main(["eval", str(run / "best.pt"), "--dataset", "camvid", "--split", "val", "--data-root",
                 str(camvid_root), "--out", str(out), "--save-vis", str(vis), "--workers", "0", "--quiet"])
    assert code == 0
    res = json.loads(out.read_text())
    assert 0.0 <= res["miou"] <= 1.0 and 0.0 <= res["pixel_acc"] <= 1.0
    assert len(res["per_class"]) == 11 and "Sky" in res["per_class"]
    assert res["num_images"] == 2
    strips = sorted(vis.glob("*.png"))
    assert len(strips) == 2
    from torchvision.io import read_image

    assert read_image(str(strips[0])).shape == (3, 48, 3 * 64)  # image | truth | prediction

    capsys.readouterr()
    code = main(["fps", str(run / "best.pt"), "--resolution", "32x48", "--runs", "3", "--warmup", "1", "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["resolution"] == [32, 48] and payload["fps"] > 0

    onnx = tmp_path / "m.onnx"
    slim = tmp_path / "slim.pt"
    code = main(["export", str(run / "best.pt"), "--onnx", str(onnx), "--resolution", "32x32",
                 "--pt", str(slim), "--fp16"])
    assert code == 0 and onnx.is_file() and slim.is_file()
    assert json.loads((tmp_path / "m.onnx.json").read_text())["max_abs_diff"] < 1e-3
    # the slim checkpoint evaluates without anything else
    code = main(["eval", str(slim), "--data-root", str(camvid_root), "--workers", "0", "--quiet",
                 "--out", str(tmp_path / "eval_slim.json")])
    assert code == 0
    assert json.loads((tmp_path / "eval_slim.json").read_text())["miou"] == pytest.approx(res["miou"], abs=0.05)


def test_eval_missing_test_split_and_bad_args(tmp_path, camvid_root, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "tiny", "--dataset", "camvid", "--data-root", str(camvid_root), "--epochs", "1",
                 "--crop", "32x32", "--batch-size", "2", "--workers", "0", "--out", str(run), "--quiet",
                 "--max-batches", "1"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run / "last.pt"), "--split", "test", "--data-root", str(camvid_root)]) == 2
    err = capsys.readouterr().err
    assert "'test' split list not found" in err and "SASWOT_DATA" in err
    assert main(["fps", "tiny", "--resolution", "abc"]) == 2
    assert main(["eval", str(tmp_path / "nope.pt"), "--data-root", str(camvid_root)]) == 2
    assert main(["train", "tiny", "--dataset", "kitti", "--out", str(tmp_path / "x")]) == 2
    assert main(["export", str(run / "last.pt")]) == 2


def test_train_fasterseg_one_step(tmp_path, camvid_root) -> None:
    pytest.importorskip("saswot.spaces.fasterseg")
    run = tmp_path / "fs"
    code = main(["train", "fasterseg", "--dataset", "camvid", "--data-root", str(camvid_root), "--epochs", "1",
                 "--crop", "64x64", "--batch-size", "2", "--workers", "0", "--max-batches", "1",
                 "--out", str(run), "--quiet"])
    assert code == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model_spec"]["name"] == "fasterseg-arch" and config["model_spec"]["arch"]
