"""Training loop: a step decreases the loss; resume continues from the saved epoch; models build."""

from __future__ import annotations

import json

import pytest
import torch

from saswot.errors import DataNotFoundError, InvalidArchError, TrainingDivergedError, UnknownNameError
from saswot.train.checkpoint import inference_checkpoint, load_checkpoint, model_from_checkpoint, save_checkpoint
from saswot.train.loop import TrainConfig, check_weights, fit, train_one_epoch
from saswot.train.losses import SegmentationLoss
from saswot.train.models import MODELS, ModelSpec, build_model, resolve_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_one_step_decreases_loss() -> None:
    model = build_model(ModelSpec("tiny", 4), aux_heads=True, seed=0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 32, 32, generator=g)
    y = torch.randint(0, 4, (4, 32, 32), generator=g)
    loss_fn = SegmentationLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = [(x, y)]
    model.train()
    before, _ = loss_fn(model(x), y)
    train_one_epoch(model, loader, opt, loss_fn, torch.device("cpu"), progress=False)
    with torch.no_grad():
        after, _ = loss_fn(model(x), y)
    assert after.item() < before.item()


def test_build_model_is_seeded_and_leaves_global_rng() -> None:
    state = torch.get_rng_state()
    a = build_model(ModelSpec("tiny", 3), seed=5)
    b = build_model(ModelSpec("tiny", 3), seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_resolve_model_errors(tmp_path) -> None:
    with pytest.raises(UnknownNameError, match="deeplabv3plus-r101"):
        resolve_model("resnet9000", 11)
    with pytest.raises(InvalidArchError):
        resolve_model(str(tmp_path / "nope.json"), 11)
    assert {"tiny", "deeplabv3plus-r101"} <= set(MODELS.names())


def test_deeplab_output_shape() -> None:
    model = build_model(ModelSpec("deeplabv3plus-r101", 5), seed=0).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 48, 40))
    assert out.shape == (1, 5, 48, 40)


def _cfg(root, out, epochs, **kw) -> TrainConfig:
    return TrainConfig(model="tiny", dataset="camvid", out=str(out), data_root=str(root), epochs=epochs,
                       crop=(32, 32), batch_size=2, workers=0, seed=1, **kw)


def test_fit_writes_run_dir_and_resume_matches_uninterrupted(make_camvid, tmp_path) -> None:
    root = make_camvid(tmp_path / "data", n_train=4, n_val=1)
    full = fit(_cfg(root, tmp_path / "full", 2), progress=False)
    assert full["epochs_done"] == 2
    run = tmp_path / "full"
    config = json.loads((run / "config.json").read_text())
    assert config["seed"] == 1 and "version" in config and "git_sha" in config
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2]
    assert "val_miou" in json.loads(lines[-1])

    part = tmp_path / "part"
    fit(_cfg(root, part, 2), progress=False, stop_after=1)
    assert load_checkpoint(part / "last.pt")["epoch"] == 1
    resumed = fit(_cfg(root, part, 2, resume=True), progress=False)
    assert resumed["epochs_done"] == 2
    a = load_checkpoint(run / "last.pt")["state_dict"]
    b = load_checkpoint(part / "last.pt")["state_dict"]
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)
    assert [json.loads(l)["epoch"] for l in (part / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_resume_without_checkpoint_fails_clearly(make_camvid, tmp_path) -> None:
    root = make_camvid(tmp_path / "data", n_train=2, n_val=1)
    with pytest.raises(DataNotFoundError, match="last.pt"):
        fit(_cfg(root, tmp_path / "none", 1, resume=True), progress=False)


def test_inference_checkpoint_fp16_roundtrip(make_camvid, tmp_path) -> None:
    root = make_camvid(tmp_path / "data", n_train=2, n_val=1)
    fit(_cfg(root, tmp_path / "r", 1), progress=False)
    ck = load_checkpoint(tmp_path / "r" / "best.pt")
    slim = inference_checkpoint(ck, fp16=True)
    assert "optimizer" not in slim and slim["weights_dtype"] == "float16"
    assert not any(k.startswith("aux") for k in slim["state_dict"])
    full, half = model_from_checkpoint(ck), model_from_checkpoint({**slim, "format": ck["format"]})
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(full(x), half(x), atol=5e-2)


def test_distillation_from_teacher_checkpoint(make_camvid, tmp_path) -> None:
    root = make_camvid(tmp_path / "data", n_train=2, n_val=1)
    fit(_cfg(root, tmp_path / "teacher", 1, max_batches=1), progress=False)
    fit(_cfg(root, tmp_path / "student", 1, max_batches=1, teacher=str(tmp_path / "teacher" / "best.pt")),
        progress=False)
    metrics = json.loads((tmp_path / "student" / "metrics.jsonl").read_text().splitlines()[0])
    assert metrics["train_kd"] >= 0.0 and "train_aux" in metrics


def test_fit_on_synthetic_cityscapes(make_cityscapes, tmp_path) -> None:
    root = make_cityscapes(tmp_path / "data")
    cfg = TrainConfig(model="tiny", dataset="cityscapes", out=str(tmp_path / "cs"), data_root=str(root),
                      epochs=1, crop=(32, 32), batch_size=2, workers=0, max_batches=1)
    summary = fit(cfg, progress=False)
    assert cfg.lr == 0.015  # the SasWOT Cityscapes default
    ck = load_checkpoint(tmp_path / "cs" / "best.pt")
    assert ck["model"]["num_classes"] == 19 and len(ck["class_names"]) == 19
    assert 0.0 <= summary["best_miou"] <= 1.0


def test_divergence_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(make_camvid, tmp_path) -> None:
    root = make_camvid(tmp_path / "data", n_train=4, n_val=1)
    with pytest.raises(TrainingDivergedError, match="epoch 1; no checkpoint had been written yet. Lower the learning"):
        fit(_cfg(root, tmp_path / "fresh", 2, lr=1e12), progress=False)
    run = tmp_path / "run"
    fit(_cfg(root, run, 3), progress=False, stop_after=1)
    good = load_checkpoint(run / "last.pt")
    for group in good["optimizer"]["param_groups"]:  # the resumed epoch now steps with an absurd LR
        group["lr"] = 1e12
    save_checkpoint(run / "last.pt", good)
    with pytest.raises(TrainingDivergedError, match=r"in epoch 2; the last good checkpoint is kept at .*last.pt' \(epoch 1\)"):
        fit(_cfg(root, run, 3, resume=True), progress=False)
    assert load_checkpoint(run / "last.pt")["epoch"] == 1


def test_check_weights_names_the_offending_weight() -> None:
    model = build_model(ModelSpec("tiny", 3), seed=0)
    assert check_weights(model) is None
    name, param = next(iter(model.named_parameters()))
    with torch.no_grad():
        param.view(-1)[0] = float("nan")
    assert check_weights(model) == f"weight '{name}' is not finite"
    with torch.no_grad():
        param.view(-1)[0] = 3e4
    assert check_weights(model) == f"weight '{name}' reached |w| = 3e+04 (> 10000)"
