"""A new dataset in two files: register one (here inside the test) and use it for training data and as the proxy batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image

from saswot.datasets import DATASETS, DatasetInfo, Sample, build_dataset, register_dataset
from saswot.errors import DataNotFoundError, UnknownNameError
from saswot.datasets.proxy_batch import dataset_available, make_batch, proxy_sources

CLASSES = ("sky", "road", "car")


def _samples(root: Path, split: str) -> list[Sample]:
    files = sorted((root / split).glob("img*.png"))
    if not files:
        raise DataNotFoundError(f"no images in {root / split}")
    return [Sample(f, f.with_name(f.name.replace("img", "lab"))) for f in files]


def _label_map(label: torch.Tensor) -> torch.Tensor:
    out = label.long()
    return torch.where(out >= len(CLASSES), torch.full_like(out, 255), out)


@pytest.fixture()
def tiny_dataset(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "data"
    folder = root / "tinyds" / "train"
    folder.mkdir(parents=True)
    for i in range(5):
        Image.fromarray((torch.full((20, 30, 3), 40 * i, dtype=torch.uint8)).numpy()).save(folder / f"img{i}.png")
        lab = torch.zeros(20, 30, dtype=torch.uint8)
        lab[:, 10:] = i % 3
        lab[0, 0] = 7  # a void pixel
        Image.fromarray(lab.numpy()).save(folder / f"lab{i}.png")
    register_dataset(DatasetInfo("tinyds", CLASSES, ((0, 0, 0), (1, 1, 1), (2, 2, 2)), _samples, _label_map, 0.01))
    yield root
    DATASETS.remove("tinyds")


def test_registered_dataset_is_a_proxy_batch_and_a_training_set(tiny_dataset: Path) -> None:
    assert "tinyds" in proxy_sources() and dataset_available("tinyds", tiny_dataset)
    images, labels = make_batch("tinyds", 3, (8, 12), num_classes=3, seed=0, data_root=tiny_dataset)
    assert images.shape == (3, 3, 8, 12) and labels.shape == (3, 8, 12)
    # normalised with mean = std = 0.5: a grey level g maps to (g / 255 - 0.5) / 0.5
    grey = sorted({round(float(im.mean()), 4) for im in images})
    assert all(-1.0 <= g <= 1.0 for g in grey) and len(grey) == 3
    assert set(labels.unique().tolist()) <= {0, 1, 2, 255}
    assert (labels[:, 0, 0] == 255).all()  # the void pixel (7) is ignored
    again, _ = make_batch("tinyds", 3, (8, 12), num_classes=3, seed=0, data_root=tiny_dataset)
    assert torch.equal(images, again)
    ds = build_dataset("tinyds", "train", tiny_dataset)
    assert len(ds) == 5


def test_dataset_with_more_classes_than_the_network_is_refused(tiny_dataset: Path) -> None:
    from saswot.errors import InvalidArchError

    with pytest.raises(InvalidArchError, match="tinyds labels use 3 classes"):
        make_batch("tinyds", 2, (8, 8), num_classes=2, seed=0, data_root=tiny_dataset)


def test_unknown_source_lists_the_registered_ones() -> None:
    with pytest.raises(UnknownNameError, match="camvid"):
        make_batch("nope", 2, (8, 8), num_classes=3, seed=0)
    assert not dataset_available("camvid", "/nonexistent")
