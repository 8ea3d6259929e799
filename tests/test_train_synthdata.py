"""Synthetic datasets in the CamVid (SegNet) and Cityscapes layouts, shared by the train tests.

The helpers are imported by ``test_datasets.py`` and ``test_train_*.py``; the tests in this
file check the generators themselves.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.io import encode_jpeg, write_png


def _scene(h: int, w: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An image whose colour is a function of a blocky label map (so a net can learn it)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, classes, (max(1, h // 8), max(1, w // 8)), generator=g)
    label = coarse.repeat_interleave(8, 0).repeat_interleave(8, 1)[:h, :w]
    colours = (torch.arange(classes)[:, None] * torch.tensor([37, 91, 151]) % 256).to(torch.uint8)
    image = colours[label].permute(2, 0, 1).contiguous()
    noise = torch.randint(0, 20, image.shape, generator=g, dtype=torch.uint8)
    return (image // 2 + noise), label.to(torch.uint8)


def make_camvid(root: Path, n_train: int = 4, n_val: int = 2, h: int = 48, w: int = 64, jpeg: bool = True) -> Path:
    """Write a tiny CamVid in the SegNet layout under ``root/camvid``; returns the data root.

    Labels use 0–10 plus void (11) in the top-left corner.
    """
    base = root / "camvid"
    for split, n in (("train", n_train), ("val", n_val)):
        (base / split).mkdir(parents=True, exist_ok=True)
        (base / f"{split}annot").mkdir(parents=True, exist_ok=True)
        lines = []
        for i in range(n):
            image, label = _scene(h, w, 11, seed=i + (0 if split == "train" else 1000))
            label[:4, :4] = 11
            ext = "jpg" if jpeg else "png"
            img_rel, lab_rel = f"{split}/img{i:03d}.{ext}", f"{split}annot/img{i:03d}.png"
            if jpeg:
                (base / img_rel).write_bytes(encode_jpeg(image, quality=95).numpy().tobytes())
            else:
                write_png(image, str(base / img_rel))
            write_png(label[None], str(base / lab_rel))
            lines.append(f"{img_rel} {lab_rel}")
        (base / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


CITY_IDS = [7, 8, 11, 26, 0, 1]  # road, sidewalk, building, car, and two ignored ids


def make_cityscapes(root: Path, h: int = 32, w: int = 64) -> Path:
    """Write a tiny Cityscapes (official layout, 2 cities in train, 1 in val); returns the data root."""
    base = root / "cityscapes"
    for split, cities in (("train", ("aachen", "bochum")), ("val", ("frankfurt",))):
        for c, city in enumerate(cities):
            (base / "leftImg8bit" / split / city).mkdir(parents=True, exist_ok=True)
            (base / "gtFine" / split / city).mkdir(parents=True, exist_ok=True)
            for i in range(2):
                image, idx = _scene(h, w, len(CITY_IDS), seed=100 * c + i)
                label_ids = torch.tensor(CITY_IDS, dtype=torch.uint8)[idx.long()]
                stem = f"{city}_{i:06d}_000019"
                write_png(image, str(base / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"))
                write_png(label_ids[None], str(base / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png"))
    return root


def test_make_camvid_writes_lists(tmp_path) -> None:
    root = make_camvid(tmp_path, n_train=3, n_val=1)
    lines = (root / "camvid" / "train.txt").read_text().splitlines()
    assert len(lines) == 3
    img, lab = lines[0].split()
    assert (root / "camvid" / img).is_file() and (root / "camvid" / lab).is_file()


def test_make_cityscapes_layout(tmp_path) -> None:
    root = make_cityscapes(tmp_path)
    imgs = sorted((root / "cityscapes" / "leftImg8bit" / "train").glob("*/*_leftImg8bit.png"))
    labs = sorted((root / "cityscapes" / "gtFine" / "train").glob("*/*_gtFine_labelIds.png"))
    assert len(imgs) == len(labs) == 4
