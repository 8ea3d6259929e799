"""Dataset parsing (synthetic CamVid/Cityscapes layouts), label mapping and joint transforms."""

from __future__ import annotations

import pytest
import torch

from saswot.datasets import (
    AugmentConfig,
    build_dataset,
    colorize,
    eval_transform,
    get_dataset_info,
    train_transform,
)
from saswot.datasets.cityscapes import cityscapes_label_map
from saswot.errors import CorruptDataError, DataNotFoundError, UnknownNameError


@pytest.mark.parametrize("jpeg", [True, False])
def test_camvid_parsing_and_void_mapping(make_camvid, tmp_path, jpeg) -> None:
    root = make_camvid(tmp_path, n_train=3, n_val=2, jpeg=jpeg)
    ds = build_dataset("camvid", "train", root)
    assert len(ds) == 3 and len(build_dataset("camvid", "val", root)) == 2
    image, label = ds.load(0)
    assert image.shape == (3, 48, 64) and image.dtype == torch.uint8
    assert label.shape == (48, 64) and label.dtype == torch.int64
    assert (label[:4, :4] == 255).all()  # void 11 → ignore
    values = set(label.unique().tolist())
    assert values <= set(range(11)) | {255}


def test_cityscapes_labelids_to_trainids(make_cityscapes, tmp_path) -> None:
    root = make_cityscapes(tmp_path)
    ds = build_dataset("cityscapes", "train", root)
    assert len(ds) == 4
    assert len(build_dataset("cityscapes", "val", root)) == 2
    _, label = ds.load(0)
    assert set(label.unique().tolist()) <= {0, 1, 2, 13, 255}
    raw = torch.tensor([[7, 8, 11, 26], [33, 0, 1, 255]], dtype=torch.uint8)
    assert cityscapes_label_map(raw).tolist() == [[0, 1, 2, 13], [18, 255, 255, 255]]
    assert get_dataset_info("cityscapes").num_classes == 19


def test_missing_data_messages(make_camvid, tmp_path) -> None:
    with pytest.raises(DataNotFoundError, match="SASWOT_DATA"):
        build_dataset("camvid", "train", tmp_path)
    make_camvid(tmp_path)
    with pytest.raises(DataNotFoundError, match="'test' split list"):
        build_dataset("camvid", "test", tmp_path)
    with pytest.raises(DataNotFoundError, match="cityscapes"):
        build_dataset("cityscapes", "val", tmp_path)
    with pytest.raises(UnknownNameError, match="camvid"):
        build_dataset("pascal", "val", tmp_path)


def test_malformed_data(make_camvid, tmp_path) -> None:
    root = make_camvid(tmp_path, n_train=2)
    listing = root / "camvid" / "train.txt"
    good = listing.read_text()
    listing.write_text(good + "only_one_field.jpg\n")
    with pytest.raises(CorruptDataError, match="train.txt:3"):
        build_dataset("camvid", "train", root)
    listing.write_text(good)
    first_img = root / "camvid" / good.split()[0]
    first_img.write_bytes(b"not an image")
    ds = build_dataset("camvid", "train", root)
    with pytest.raises(CorruptDataError, match="cannot decode image"):
        ds[0]
    listing.write_text("train/missing.jpg trainannot/missing.png\n")
    with pytest.raises(DataNotFoundError, match="listed at train.txt:1"):
        build_dataset("camvid", "train", root)


def test_train_transform_pads_flips_and_is_reproducible(make_camvid, tmp_path) -> None:
    root = make_camvid(tmp_path, n_train=2, h=48, w=64)
    tf = train_transform(AugmentConfig(crop=(80, 96), scales=(1.0,), flip=True))
    ds = build_dataset("camvid", "train", root, tf, seed=3)
    image, label = ds[0]
    assert image.shape == (3, 80, 96) and image.dtype == torch.float32
    assert label.shape == (80, 96)
    # padding: 80*96 - 48*64 label pixels are ignore; values stay valid classes (nearest)
    assert int((label == 255).sum()) >= 80 * 96 - 48 * 64
    assert set(label.unique().tolist()) <= set(range(11)) | {255}
    again_img, again_lab = ds[0]
    assert torch.equal(image, again_img) and torch.equal(label, again_lab)
    # scaled crops keep labels as class indices (nearest interpolation)
    tf2 = train_transform(AugmentConfig(crop=(32, 32), scales=(0.75, 1.25), base_size=(40, 52)))
    ds2 = build_dataset("camvid", "train", root, tf2, seed=0)
    for epoch in range(3):
        ds2.set_epoch(epoch)
        _, lab = ds2[1]
        assert lab.shape == (32, 32)
        assert set(lab.unique().tolist()) <= set(range(11)) | {255}


def test_eval_transform_keeps_label_resolution(make_camvid, tmp_path) -> None:
    root = make_camvid(tmp_path, n_val=1)
    ds = build_dataset("camvid", "val", root, eval_transform(size=(24, 32)))
    image, label = ds[0]
    assert image.shape == (3, 24, 32) and label.shape == (48, 64)


def test_colorize_uses_palette() -> None:
    palette = ((10, 20, 30), (40, 50, 60))
    out = colorize(torch.tensor([[0, 1], [255, 1]]), palette)
    assert out.shape == (3, 2, 2) and out.dtype == torch.uint8
    assert out[:, 0, 0].tolist() == [10, 20, 30] and out[:, 1, 0].tolist() == [0, 0, 0]
