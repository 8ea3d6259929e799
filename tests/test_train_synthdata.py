"""The synthetic datasets of ``conftest.py`` (CamVid and Cityscapes layouts) check out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def test_make_camvid_writes_lists(tmp_path: Path, make_camvid: Callable[..., Path]) -> None:
    root = make_camvid(tmp_path, n_train=3, n_val=1)
    lines = (root / "camvid" / "train.txt").read_text().splitlines()
    assert len(lines) == 3
    img, lab = lines[0].split()
    assert (root / "camvid" / img).is_file() and (root / "camvid" / lab).is_file()


def test_make_cityscapes_layout(tmp_path: Path, make_cityscapes: Callable[..., Path]) -> None:
    root = make_cityscapes(tmp_path)
    imgs = sorted((root / "cityscapes" / "leftImg8bit" / "train").glob("*/*_leftImg8bit.png"))
    labs = sorted((root / "cityscapes" / "gtFine" / "train").glob("*/*_gtFine_labelIds.png"))
    assert len(imgs) == len(labs) == 4
