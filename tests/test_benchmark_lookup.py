"""TNBBenchmark: loading, lookups, seeded sampling, and clear errors for missing/corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from saswot.spaces.tnb101.lookup import TNB_TASKS, TNBBenchmark
from saswot.errors import CorruptDataError, DataNotFoundError, InvalidArchError, SaswotError, UnknownNameError
from saswot.runtime.seeding import make_rng
from saswot.spaces.tnb101.encoding import MacroArch, MicroArch, parse_arch


def _rec(gt: float, **scores: float) -> dict:
    rec: dict = {"idx": "0", "val_accuracy": gt}
    rec.update({k: {"score": v, "time": 0.1} for k, v in scores.items()})
    return rec


def _tiny(tmp_path: Path, data: object, name: str = "zc_transbench101_micro.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


TINY_MICRO = {
    "segmentsemantic": {
        "(1, 0, 0, 2, 1, 0)": _rec(93.0, params=11.902545, flops=1198.81728, nwot=477.0),
        "(3, 3, 3, 3, 3, 3)": _rec(94.5, params=52.435793, flops=9423.58528, nwot=500.0),
        "(0, 1, 1, 2, 3, 3)": _rec(94.0, params=27.248209, flops=4223.827968, nwot=490.0),
        "(2, 2, 1, 0, 0, 0)": _rec(91.894, params=11.2, flops=1053.4, nwot=400.0),
    },
    "class_scene": {"(1, 0, 0, 2, 1, 0)": _rec(50.0, params=0.910687)},
}


@pytest.fixture(scope="module")
def micro() -> TNBBenchmark:
    try:
        return TNBBenchmark.load(TNBBenchmark.default_path("micro"))
    except DataNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def macro() -> TNBBenchmark:
    try:
        return TNBBenchmark.load(TNBBenchmark.default_path("macro"))
    except DataNotFoundError as exc:
        pytest.skip(str(exc))


def test_real_files_load_with_inferred_space(micro: TNBBenchmark, macro: TNBBenchmark) -> None:
    assert micro.space == "micro" and macro.space == "macro"
    assert sorted(micro.tasks) == sorted(TNB_TASKS) and sorted(macro.tasks) == sorted(TNB_TASKS)
    assert len(micro) == len(micro.keys()) == 504
    assert len(macro) == len(macro.keys("segmentsemantic")) == 493
    assert len(macro.keys("class_scene")) == 449  # tasks may hold different subsets
    assert all(isinstance(a, MicroArch) for a in micro.archs())
    assert all(isinstance(a, MacroArch) for a in macro)


def test_real_ground_truth_and_reference_scores(micro: TNBBenchmark, macro: TNBBenchmark) -> None:
    raw = json.loads(Path(micro.path).read_text())["segmentsemantic"]["(1, 0, 0, 2, 1, 0)"]
    assert micro.ground_truth("(1, 0, 0, 2, 1, 0)") == raw["val_accuracy"]
    assert micro.ground_truth("64-41414-1_00_210") == pytest.approx(93.0864, abs=1e-4)
    assert micro.reference_score("64-41414-1_00_210", "nwot") == raw["nwot"]["score"]
    assert micro.reference_score("64-41414-1_00_210", "params") == 11.902545
    assert micro.reference_score("64-41414-1_00_210", "no_such_proxy") is None
    assert macro.ground_truth(parse_arch("64-1242-basic")) == pytest.approx(94.7194, abs=1e-4)
    assert macro.reference_score("(1, 2, 4, 2, 0, 0)", "flops") == 25113.985024
    assert macro.record("64-1242-basic")["arch"] == "(1, 2, 4, 2, 0, 0)"
    gts = micro.ground_truths()
    assert 91.8 < min(gts.values()) < max(gts.values()) < 94.8


def test_contains(micro: TNBBenchmark) -> None:
    key = micro.keys()[0]
    assert key in micro
    assert parse_arch(key, "micro") in micro
    assert "(4, 4, 4, 4, 4, 4)" not in micro  # invalid in the space: simply not contained
    assert 42 not in micro


def test_sample_is_seeded_distinct_and_respects_exclude(micro: TNBBenchmark) -> None:
    a = micro.sample(12, make_rng(7))
    b = micro.sample(12, make_rng(7))
    c = micro.sample(12, make_rng(8))
    assert a == b and a != c
    assert len(set(a)) == 12 and all(x in micro for x in a)
    d = micro.sample(12, make_rng(7), exclude=[a[0], a[1].key])
    assert a[0] not in d and a[1] not in d
    assert len(micro.sample(len(micro), make_rng(0))) == len(micro)
    with pytest.raises(SaswotError, match="at most 504"):
        micro.sample(505, make_rng(0))


def test_unknown_arch_and_task(tmp_path: Path) -> None:
    bench = TNBBenchmark.load(_tiny(tmp_path, TINY_MICRO))
    assert bench.space == "micro" and len(bench) == 4
    with pytest.raises(UnknownNameError, match=r"\(3, 3, 3, 3, 3, 0\).*not in"):
        bench.ground_truth("(3, 3, 3, 3, 3, 0)")
    with pytest.raises(UnknownNameError, match="not in"):
        bench.ground_truth("(3, 3, 3, 3, 3, 3)", task="class_scene")
    with pytest.raises(UnknownNameError, match="unknown task 'segmentation'"):
        bench.keys("segmentation")
    with pytest.raises(CorruptDataError, match="no records for task 'jigsaw'"):
        bench.keys("jigsaw")
    with pytest.raises(InvalidArchError, match="benchmark space: micro"):
        bench.ground_truth("64-1242-basic")
    assert bench.proxies() == ["params", "flops", "nwot"]
    assert bench.ground_truth("(1, 0, 0, 2, 1, 0)", task="class_scene") == 50.0


def test_explicit_space_and_default_path(tmp_path: Path) -> None:
    assert TNBBenchmark.default_path("macro", tmp_path) == tmp_path / "tnb101" / "zc_transbench101_macro.json"
    with pytest.raises(InvalidArchError, match="unknown search space"):
        TNBBenchmark.default_path("nano")
    p = _tiny(tmp_path, TINY_MICRO)
    with pytest.raises(CorruptDataError, match="not a valid macro architecture"):
        TNBBenchmark.load(p, "macro")


def test_missing_file_says_what_and_where(tmp_path: Path) -> None:
    missing = tmp_path / "tnb101" / "zc_transbench101_micro.json"
    with pytest.raises(DataNotFoundError) as info:
        TNBBenchmark.load(missing)
    msg = str(info.value)
    assert str(missing) in msg
    assert "zc_transbench101" in msg and "NASLib" in msg and "SASWOT_DATA" in msg


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "must be a JSON object"),
        (json.dumps({"segmentsemantic": [1, 2]}), "must map arch keys"),
        (json.dumps({"segmentsemantic": {"(1, 0, 0, 2, 1, 0)": {"params": {"score": 1}}}}), "val_accuracy"),
        (json.dumps({"segmentsemantic": {"(1, 0, 0, 2, 1, 0)": {"val_accuracy": "high"}}}), "val_accuracy"),
        (json.dumps({"segmentsemantic": {"(1, 0, 0, 2, 1, 0)": 5}}), "not a JSON object"),
        (json.dumps({"segmentsemantic": {"(9, 9)": {"val_accuracy": 1.0}}}), "valid in neither"),
    ],
)
def test_corrupt_files_fail_clearly(tmp_path: Path, content: str, fragment: str) -> None:
    p = tmp_path / "zc_transbench101_micro.json"
    p.write_text(content)
    with pytest.raises(CorruptDataError) as info:
        TNBBenchmark.load(p)
    assert fragment in str(info.value)


def test_bad_key_with_explicit_space_names_the_key(tmp_path: Path) -> None:
    p = _tiny(tmp_path, {"segmentsemantic": {"(1, 0, 0, 2, 1, 7)": {"val_accuracy": 1.0}}})
    with pytest.raises(CorruptDataError, match=r"key '\(1, 0, 0, 2, 1, 7\)'"):
        TNBBenchmark.load(p, "micro")


def test_missing_task_in_file_is_corrupt(tmp_path: Path) -> None:
    bench = TNBBenchmark.load(_tiny(tmp_path, {"class_scene": TINY_MICRO["class_scene"]}), "micro")
    with pytest.raises(CorruptDataError, match="no records for task 'segmentsemantic'"):
        bench.ground_truth("(1, 0, 0, 2, 1, 0)")
