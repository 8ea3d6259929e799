"""Shared pytest fixtures, and the data check of the test command."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from torchvision.io import encode_jpeg, write_png

#: What the data-dependent tests read below ``$SASWOT_DATA``.
REQUIRED_DATA = ("tnb101/zc_transbench101_micro.json", "tnb101/zc_transbench101_macro.json", "camvid/train.txt",
                 "camvid/val.txt")


def pytest_sessionstart(session: pytest.Session) -> None:
    """With ``SASWOT_DATA`` set, its data must be there: fail the run instead of skipping those tests."""
    root = os.environ.get("SASWOT_DATA")
    if not root:
        return
    missing = [rel for rel in REQUIRED_DATA if not (Path(root) / rel).is_file()]
    if missing:
        pytest.exit(f"SASWOT_DATA={root} is set but {', '.join(missing)} is missing there; fix the path or unset "
                    "SASWOT_DATA to skip the data-dependent tests", returncode=1)


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """Run a test with one torch thread (timing- and contention-sensitive tests), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache root (``SASWOT_CACHE``), never the user's."""
    root = tmp_path_factory.mktemp("saswot-cache")
    monkeypatch.setenv("SASWOT_CACHE", str(root))
    return root


# ----------------------------------------------------------------------------- synthetic datasets
def _scene(h: int, w: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An image whose colour is a function of a blocky label map (so a net can learn it)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, classes, (max(1, h // 8), max(1, w // 8)), generator=g)
    label = coarse.repeat_interleave(8, 0).repeat_interleave(8, 1)[:h, :w]
    colours = (torch.arange(classes)[:, None] * torch.tensor([37, 91, 151]) % 256).to(torch.uint8)
    image = colours[label].permute(2, 0, 1).contiguous()
    noise = torch.randint(0, 20, image.shape, generator=g, dtype=torch.uint8)
    return (image // 2 + noise), label.to(torch.uint8)


def _make_camvid(root: Path, n_train: int = 4, n_val: int = 2, h: int = 48, w: int = 64, jpeg: bool = True) -> Path:
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


def _make_cityscapes(root: Path, h: int = 32, w: int = 64) -> Path:
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


@pytest.fixture(scope="session")
def make_camvid() -> Callable[..., Path]:
    """``make_camvid(root, n_train=4, n_val=2, h=48, w=64, jpeg=True)``: a tiny CamVid in the SegNet
    layout under ``root/camvid``; returns the data root."""
    return _make_camvid


@pytest.fixture(scope="session")
def make_cityscapes() -> Callable[..., Path]:
    """``make_cityscapes(root, h=32, w=64)``: a tiny Cityscapes (official layout); returns the data root."""
    return _make_cityscapes


# ----------------------------------------------------------------------------- rank and scripts
RANK_KEYS = ["(1, 0, 0, 2, 1, 0)", "(2, 2, 1, 0, 0, 0)", "(1, 1, 0, 0, 0, 0)"]


@pytest.fixture()
def tiny_bench(tmp_path: Path) -> Path:
    """Three TransNAS-Bench-101 micro architectures with their ground truth, as a bench file."""
    src = Path(os.environ.get("SASWOT_DATA", "data")) / "tnb101" / "zc_transbench101_micro.json"
    if not src.is_file():
        pytest.skip("TNB101 data not available (set SASWOT_DATA)")
    table = json.loads(src.read_text())["segmentsemantic"]
    keys = [k for k in RANK_KEYS if k in table][:3]
    keys += [k for k in table if k not in keys][: 3 - len(keys)]
    path = tmp_path / "bench_micro.json"
    path.write_text(json.dumps({"segmentsemantic": {k: table[k] for k in keys}}))
    return path


def _rank_args(bench: Path, out: Path, *extra: str) -> list[str]:
    return [
        "rank", "--space", "micro", "--bench", str(bench), "--proxies", "params,l2_norm",
        "--archs", "all", "--samples", "2", "--sample-size", "3", "--batch-size", "2",
        "--resolution", "64", "--data", "random", "--quiet", "--out", str(out), *extra,
    ]


@pytest.fixture(scope="session")
def rank_args() -> Callable[..., list[str]]:
    """``rank_args(bench, out, *extra)``: the arguments of a small, fast ``saswot rank`` run on ``bench``."""
    return _rank_args


def _tiny_setup(tmp_path: Path, **recipe_changes: object) -> Path:
    """Synthetic 64×64 CamVid under ``tmp_path/data`` and a one-batch recipe at ``tmp_path/recipe.json``;
    returns the data root."""
    root = _make_camvid(tmp_path / "data", n_train=4, n_val=2, h=64, w=64)
    recipe = {"name": "smoke", "dataset": "camvid", "epochs": 1, "base_size": None, "crop": [64, 64],
              "scales": [1.0], "eval_size": None, "batch_size": 2, "lr": 0.01, "lr_final_ratio": 0.1,
              "eval_every": 1, "amp": True, "max_batches": 1, **recipe_changes}
    (tmp_path / "recipe.json").write_text(json.dumps(recipe))
    return root


@pytest.fixture(scope="session")
def tiny_setup() -> Callable[..., Path]:
    """``tiny_setup(tmp_path, **recipe_changes)``: synthetic CamVid and a one-batch recipe for the GPU scripts."""
    return _tiny_setup
