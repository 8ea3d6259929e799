"""The faster training pipeline keeps the recipe's semantics: the decoded-sample cache gives the same
batches and weights, channels-last trains the same computation, final-only evaluation gives the same
benchmark value, and ``--first`` restricts a job list to its prefix."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from saswot.datasets import AugmentConfig, DecodedCache, Resize, build_dataset, train_transform
from saswot.workflows.minibench import Recipe, RunContext, make_jobs, sample_archs, sampled_jobs, train_job
from saswot.train.checkpoint import load_checkpoint
from saswot.train.loop import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cfg(root: Path, out: Path, **kw: object) -> TrainConfig:
    base = {
        "model": "tiny",
        "dataset": "camvid",
        "out": str(out),
        "data_root": str(root),
        "epochs": 2,
        "crop": (24, 32),
        "base_size": (36, 48),
        "eval_size": (36, 48),
        "scales": (0.75, 1.0, 1.25),
        "batch_size": 2,
        "workers": 0,
        "seed": 3,
    }
    return TrainConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_cached_dataset_gives_identical_samples_and_decodes_each_file_once(make_camvid, tmp_path: Path) -> None:
    root = make_camvid(tmp_path / "data", n_train=3, n_val=1, h=48, w=64)
    aug = train_transform(AugmentConfig((24, 32), (0.75, 1.0, 1.25), None))
    reference = build_dataset("camvid", "train", root, train_transform(AugmentConfig((24, 32), (0.75, 1.0, 1.25),
                                                                                     (36, 48))), seed=5)
    cache = DecodedCache()
    for epoch in (0, 1):
        cached = build_dataset("camvid", "train", root, aug, seed=5, pre_transform=Resize((36, 48)),
                               pre_key="r36x48", cache=cache)
        cached.set_epoch(epoch)
        reference.set_epoch(epoch)
        for i in range(len(reference)):
            a_img, a_lab = reference[i]
            b_img, b_lab = cached[i]
            assert torch.equal(a_img, b_img) and torch.equal(a_lab, b_lab)
            assert b_lab.dtype == torch.int64
    assert len(cache) == 3  # one entry per file, filled in the first epoch and reused
    assert cache.nbytes == 3 * (3 * 36 * 48 + 36 * 48)
    # another deterministic step gets its own entries
    other = build_dataset("camvid", "train", root, aug, seed=5, pre_transform=Resize((24, 32)), pre_key="r24x32",
                          cache=cache)
    assert other[0][0].shape[-2:] == (24, 32) and len(cache) == 4


def test_fit_with_a_cache_ends_with_bit_identical_weights(make_camvid, tmp_path: Path) -> None:
    root = make_camvid(tmp_path / "data", n_train=4, n_val=2, h=48, w=64)
    plain = fit(_cfg(root, tmp_path / "plain"), progress=False)
    cache = DecodedCache()
    for epoch in range(2):  # one epoch per call, as minibench runs it, sharing the cache
        fit(_cfg(root, tmp_path / "cached", resume=epoch > 0), progress=False, stop_after=1, cache=cache)
    a = load_checkpoint(tmp_path / "plain" / "last.pt")
    b = load_checkpoint(tmp_path / "cached" / "last.pt")
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert a["history"][-1]["val_miou"] == b["history"][-1]["val_miou"] == plain["last"]["val_miou"]
    assert len(cache) == 4 + 2  # train and val files, each decoded once


def test_channels_last_trains_the_same_computation(make_camvid, tmp_path: Path) -> None:
    root = make_camvid(tmp_path / "data", n_train=4, n_val=2, h=48, w=64)
    fit(_cfg(root, tmp_path / "nchw", epochs=1), progress=False)
    fit(_cfg(root, tmp_path / "nhwc", epochs=1, channels_last=True), progress=False)
    a = load_checkpoint(tmp_path / "nchw" / "last.pt")
    b = load_checkpoint(tmp_path / "nhwc" / "last.pt")
    for k, v in a["state_dict"].items():
        assert torch.allclose(v.float(), b["state_dict"][k].float(), rtol=1e-4, atol=1e-5), k
    assert a["history"][-1]["val_miou"] == pytest.approx(b["history"][-1]["val_miou"], abs=1e-3)
    conv = next(p for p in b["state_dict"].values() if p.dim() == 4 and p.shape[-1] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last)


def test_minibench_job_evaluates_once_by_default_and_records_how_it_ran(make_camvid, tmp_path: Path) -> None:
    root = make_camvid(tmp_path / "data", n_train=4, n_val=2, h=64, w=64)
    arch = sample_archs(1, 0, pool_factor=1)[0]
    recipe = Recipe(name="t", epochs=2, base_size=None, crop=(64, 64), scales=(1.0,), eval_size=None, batch_size=2,
                    lr=0.01, eval_every=1)
    job = make_jobs([("a", arch)], [0])[0]
    fast = train_job(job, recipe, RunContext(tmp_path / "fast", data_root=str(root), latency=False))
    curve = train_job(job, recipe, RunContext(tmp_path / "curve", data_root=str(root), latency=False,
                                              channels_last=False, curve_evals=True))
    assert ["val_miou" in c for c in fast["curve"]] == [False, True]
    assert ["val_miou" in c for c in curve["curve"]] == [True, True]
    assert fast["channels_last"] is True and fast["curve_evals"] is False
    assert curve["channels_last"] is False and curve["curve_evals"] is True
    assert fast["miou"] == pytest.approx(curve["miou"], abs=0.02)
    assert fast["recipe_id"] == curve["recipe_id"]  # how a job runs is not part of its identity


def test_first_n_jobs_are_the_prefix_of_the_spread_order() -> None:
    from saswot.cli.minibench_cmd import _jobs

    every = sampled_jobs(4, 0, [0])
    first = _jobs(None, 4, 0, 27.8, "0", 2)
    assert [j.label for j in first] == [j.label for j in every[:2]] == ["g0-000", "g0-002"]
