"""Ensembles: parsing, pool rank aggregation on fixed numbers, stored calibration, single-network specs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from _tiny_nets import tiny_batch, tiny_model
from saswot.config import ProxyBatch
from saswot.workflows.ensemble_rank import (
    Ensemble,
    EnsembleCalibration,
    add_ensemble_scores,
    parse_ensemble,
    pool_scores,
    single_score,
    split_for_rank,
    split_proxy_list,
)
from saswot.errors import ScoreError, UnknownNameError
from saswot.proxies import SENTINEL, ScoringSettings, Stat, resolve_proxies, resolve_proxy, score_network
from saswot.workflows.score import ArchScores


def test_parse_and_split() -> None:
    e = parse_ensemble("ensemble:nwot,flops,auto-micro")
    assert e.members == ("nwot", "flops", "auto-micro") and e.method == "logrank" and e.calibration is None
    assert parse_ensemble(e.name) == e
    a = parse_ensemble("ensemble-avt:nwot,-grasp@macro")
    assert a.method == "avt" and a.members == ("nwot", "-grasp") and a.calibration == "macro"
    assert parse_ensemble(a.name) == a
    az = parse_ensemble("aznas")
    assert az.members[0] == "az_expressivity" and az.name == "aznas"
    plain, ens = split_proxy_list("ensemble:nwot,flops,auto-micro")
    assert plain == [] and [x.members for x in ens] == [("nwot", "flops", "auto-micro")]
    plain, ens = split_proxy_list("snip,aznas;ensemble-avt:nwot,flops;jacov")
    assert plain == ["snip", "jacov"] and [x.name for x in ens] == ["aznas", "ensemble-avt:nwot,flops"]
    to_score, ens = split_for_rank("snip;ensemble:nwot,-grasp")
    assert to_score == ["snip", "nwot", "grasp"] and len(ens) == 1
    assert split_for_rank("all") == ("all", [])
    with pytest.raises(UnknownNameError):
        parse_ensemble("nwot,flops")
    with pytest.raises(UnknownNameError):
        Ensemble(("nwot",), "median")


def test_logrank_and_avt_on_fixed_numbers() -> None:
    scores = {"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]}
    lr = pool_scores(Ensemble(("a", "b")), scores)
    expected = [math.log(1 / 3) + math.log(1), math.log(2 / 3) + math.log(1 / 3), math.log(1) + math.log(2 / 3)]
    assert lr == pytest.approx(expected)
    avt = pool_scores(Ensemble(("a", "b"), "avt"), scores)
    assert avt == pytest.approx([1.0, 0.5, 1.5])
    neg = pool_scores(Ensemble(("a", "-b"), "avt"), scores)
    assert neg == pytest.approx([0.0, 1.5, 1.5])
    # ties share their mean rank; a failed score (sentinel, NaN) ranks last even when negated
    tied = pool_scores(Ensemble(("a",)), {"a": [5.0, 5.0, SENTINEL, float("nan")]})
    assert tied == pytest.approx(np.log([3.5 / 4, 3.5 / 4, 1.5 / 4, 1.5 / 4]))
    negf = pool_scores(Ensemble(("-a",)), {"a": [1.0, SENTINEL, 2.0]})
    assert np.argmin(negf) == 1 and negf[0] > negf[2]
    with pytest.raises(ScoreError, match="no scores"):
        pool_scores(Ensemble(("a", "c")), scores)


def test_calibrated_single_scores_order_the_calibration_sample_like_the_pool() -> None:
    rng = np.random.default_rng(0)
    scores = {"a": list(rng.normal(size=30)), "b": list(rng.normal(size=30))}
    calib = EnsembleCalibration.fit(scores)
    for method in ("logrank", "avt"):
        ens = Ensemble(("a", "-b"), method)
        pool = pool_scores(ens, scores)
        single = [single_score(ens, {"a": scores["a"][i], "b": scores["b"][i]}, calib) for i in range(30)]
        assert np.array_equal(np.argsort(pool, kind="stable"), np.argsort(single, kind="stable"))
    assert calib.quantile("a", -1e9) == pytest.approx(0.5 / 31)
    assert calib.quantile("a", float("nan")) == pytest.approx(0.5 / 31)
    back = EnsembleCalibration.from_json(calib.to_json())
    assert back.values == calib.values and back.fingerprint() == calib.fingerprint()
    with pytest.raises(ScoreError):
        calib.quantile("zz", 1.0)


def test_single_network_ensemble_spec(tmp_path) -> None:
    x, y = tiny_batch()
    models = [tiny_model(seed=s) for s in range(4)]
    settings = ScoringSettings(ProxyBatch(num_classes=5))
    raw = [score_network(m, x, y, ["nwot", "snip"], settings) for m in models]
    calib = EnsembleCalibration.fit({p: [r[p] for r in raw] for p in ("nwot", "snip")})
    path = calib.write(tmp_path / "calib.json")
    name = f"ensemble:nwot,snip@{path}"
    spec = resolve_proxy(name)
    assert spec.requires == {Stat.NWOT_KERNEL, Stat.LAYERS} and not spec.needs_avt  # union of the members'
    got = score_network(models[0], x, y, [name, "nwot"], settings)
    want = math.log(calib.quantile("nwot", raw[0]["nwot"])) + math.log(calib.quantile("snip", raw[0]["snip"]))
    assert got[name] == pytest.approx(want)
    assert got["nwot"] == pytest.approx(raw[0]["nwot"])
    assert [s.name for s in resolve_proxies(f"snip;{name}")] == ["snip", name]
    with pytest.raises(ScoreError, match="calibration"):
        resolve_proxy("ensemble:nwot,snip")


def test_add_ensemble_scores_post_processes_a_pool() -> None:
    per_arch = {k: ArchScores(scores={"a": a, "b": b}, failed={}) for k, a, b in (("x", 1.0, 3.0), ("y", 2.0, 1.0), ("z", 3.0, 2.0))}
    ens = parse_ensemble("ensemble-avt:a,b")
    add_ensemble_scores(per_arch, [ens])
    assert [per_arch[k].scores[ens.name] for k in "xyz"] == pytest.approx([1.0, 0.5, 1.5])


@pytest.mark.parametrize("space", ["micro", "macro"])
def test_shipped_calibrations_cover_the_proxies(space: str) -> None:
    calib = EnsembleCalibration.load(space)
    assert {"nwot", "swap", "zico", "meco", "az_expressivity", "flops"} <= set(calib.values)
    # 100 calibration architectures; failed (sentinel) scores are left out
    assert all(90 <= len(v) <= 100 and list(v) == sorted(v) for v in calib.values.values())
    assert len(calib.values["nwot"]) == 100
    spec = resolve_proxy(f"ensemble-avt:swap,nwot,-flops@{space}")
    assert spec.requires == {Stat.NWOT_KERNEL, Stat.COUNTS}  # swap runs its own pass: nothing to add
    with pytest.raises(UnknownNameError):
        EnsembleCalibration.load("nosuchspace")
