"""Library side of rank: scoring loop, cache, resume, result document; proxy data."""

from __future__ import annotations

import pytest
import torch

from _tiny_nets import tiny_batch, tiny_model
from saswot.errors import DataNotFoundError, ScoreError, UnknownNameError
from saswot.proxies import SENTINEL, ProxySpec, resolve_proxies
from saswot.datasets.proxy_batch import make_batch
from saswot.workflows.rank import rank_result, table_rows
from saswot.config import ProxyBatch
from saswot.workflows.score import ScoreCache, score_architectures

BATCH = ProxyBatch(batch_size=4, resolution=(8, 8), data="random", num_classes=5)


def _build(seed: int) -> torch.nn.Module:
    return tiny_model(seed=seed, width=4 + seed % 3)


def test_scores_cache_and_resume(tmp_path) -> None:
    specs = resolve_proxies("l2_norm,snip,nwot")
    archs = [0, 1, 2, 3]
    cache = ScoreCache(tmp_path, "tiny", BATCH)
    first = score_architectures(
        archs, specs, BATCH, _build, key=str, cache=cache, images_labels=tiny_batch(), progress=False
    )
    assert list(first) == ["0", "1", "2", "3"]

    def no_build(arch: int) -> torch.nn.Module:
        raise AssertionError("cached architecture was rebuilt")

    again = score_architectures(
        archs, specs, BATCH, no_build, key=str, cache=ScoreCache(tmp_path, "tiny", BATCH), images_labels=tiny_batch(), progress=False
    )
    assert {k: v.scores for k, v in again.items()} == {k: v.scores for k, v in first.items()}
    # a new proxy only computes the missing score; other settings use another cache folder
    more = score_architectures(
        archs[:1], resolve_proxies("l2_norm,plain"), BATCH, _build, key=str, cache=cache, images_labels=tiny_batch(), progress=False
    )
    assert more["0"].scores["l2_norm"] == first["0"].scores["l2_norm"]
    other = ScoreCache(tmp_path, "tiny", ProxyBatch(batch_size=2, resolution=(8, 8), data="random"))
    assert other.folder != cache.folder and other.get("0") == {}


def test_result_document_and_failures() -> None:
    name = "test_rank_nan"
    specs = resolve_proxies(["l2_norm", ProxySpec(name=name, fn=lambda ctx: float("nan"), requires=())])
    per = score_architectures([0, 1, 2], specs, BATCH, _build, key=str, images_labels=tiny_batch(), progress=False)
    truth = {"0": 1.0, "1": 3.0, "2": 2.0}
    res = rank_result(per, truth, ["l2_norm", name], space="tiny", task="t", config={"a": 1}, samples=2, sample_size=3, seed=0)
    assert set(res) >= {"space", "task", "config", "archs", "correlation", "failures"}
    assert res["archs"]["1"]["ground_truth"] == 3.0
    assert res["archs"]["1"]["scores"][name] == SENTINEL
    assert res["failures"][name]["count"] == 3 and res["failures"][name]["archs"] == ["0", "1", "2"]
    assert set(res["correlation"]["l2_norm"]) == {"kendall", "spearman", "pearson"}
    cols, rows = table_rows(res)
    assert cols[0] == "proxy" and rows[1][-1] == 3


def test_empty_arch_list_is_an_error() -> None:
    with pytest.raises(ScoreError, match="empty"):
        score_architectures([], resolve_proxies("l2_norm"), BATCH, _build, key=str, progress=False)


def test_make_batch_random_and_camvid(tmp_path) -> None:
    a = make_batch("random", 3, (8, 10), 5, seed=1)
    b = make_batch("random", 3, (8, 10), 5, seed=1)
    assert a[0].shape == (3, 3, 8, 10) and a[1].shape == (3, 8, 10)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert int(a[1].max()) < 5
    with pytest.raises(UnknownNameError):
        make_batch("imagenet", 2, (8, 8), 5)
    with pytest.raises(DataNotFoundError, match="camvid"):
        make_batch("camvid", 2, (8, 8), 17, data_root=tmp_path)


def test_make_batch_camvid_real_data() -> None:
    from saswot.datasets.proxy_batch import camvid_available

    if not camvid_available():
        pytest.skip("CamVid not available (set SASWOT_DATA)")
    x, y = make_batch("camvid", 2, (24, 32), 17, seed=0)
    x2, y2 = make_batch("camvid", 2, (24, 32), 17, seed=0)
    assert x.shape == (2, 3, 24, 32) and y.shape == (2, 24, 32)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    vals = set(y.unique().tolist())
    assert vals <= set(range(11)) | {255}
    assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0
