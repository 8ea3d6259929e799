"""FasterSeg structure features, predictor files (fit, validate, save, load, predict) and ``saswot predictor``."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from saswot.cli.main import main
from saswot.errors import CorruptDataError, ScoreError, UnknownNameError
from saswot.search.evolution import EvolutionConfig, evolve
from saswot.search.predictor import (
    FittedPredictor,
    PredictorConfig,
    PredictorObjective,
    fit_predictor,
    is_predictor_ref,
    labelled_set,
    resolve_predictor_path,
    shipped_predictors,
    split_kendall,
)
from saswot.spaces import get_space
from saswot.spaces.fasterseg.arch import load_arch
from saswot.spaces.fasterseg.decode import SpaceConfig
from saswot.spaces.fasterseg.features import (
    FEATURE_SETS,
    feature_names,
    feature_set,
    feature_set_names,
    path_feature_names,
    path_features,
    structure_features,
)
from saswot.spaces.fasterseg.problem import Budget, FasterSegProblem
from saswot.workflows.minibench import sample_archs

SMALL = PredictorConfig(model="rf", n_estimators=20, max_features=0.5, min_samples_leaf=2, use_encoding=True)
SHIPPED = Path(__file__).resolve().parents[1] / "saswot/data/fasterseg/minibench-camvid.jsonl"


def _first_rows(tmp_path: Path, n: int) -> Path:
    """The first ``n`` runs of the shipped ground truth (the first sample, seed 0), as a file of their own.

    The shipped file grows as networks are trained; tests that count architectures use a fixed part of it.
    """
    part = tmp_path / f"first{n}.jsonl"
    part.write_text("".join(SHIPPED.read_text().splitlines(keepends=True)[:n]))
    return part


def _shipped_keys() -> set[str]:
    return {json.loads(line)["key"] for line in SHIPPED.read_text().splitlines() if line.strip()}


def test_structure_features_of_the_released_network() -> None:
    arch = load_arch("fasterseg")
    f = dict(zip(feature_names(), structure_features(arch)))
    assert len(f) == len(structure_features(arch)) == len(feature_names())
    assert f["gmacs"] == pytest.approx(27.77, abs=0.01) and f["params_m"] == pytest.approx(3.42, abs=0.01)
    # shared cells are counted once: the per-scale counts add up to the instantiated cells
    assert f["cells_s8"] + f["cells_s16"] + f["cells_s32"] == len(arch.unique_cells()) == 16
    assert f["shared_cells"] == 3 and (f["depth_min"], f["depth_max"]) == (9, 10)
    assert sum(f[f"n_{op}"] for op in ("conv", "conv_downup", "conv_2x", "conv_2x_downup")) == 16
    # compute adds up: cells at the three scales plus stem and head make the whole network
    assert f["gmacs_s8"] + f["gmacs_s16"] + f["gmacs_s32"] + f["gmacs_stem_head"] == pytest.approx(f["gmacs"])
    assert 0.0 < f["gmacs_cells_frac_s8"] < 1.0


def test_the_space_encodes_architectures_with_the_structure_features() -> None:
    space = get_space("fasterseg")
    a, b = sample_archs(2, 3, pool_factor=2)
    assert space.encode(a) == structure_features(a)
    assert space.encode(a) != space.encode(b)
    assert space.encoding_names() == feature_names()


def test_path_features_of_the_released_network() -> None:
    arch = load_arch("fasterseg")
    f = dict(zip(path_feature_names(), path_features(arch)))
    assert len(f) == len(path_features(arch)) == len(path_feature_names())
    cells = {b.last: c for b, c in zip(arch.branches, arch.branch_cells())}
    # each branch's cells per scale add up to the branch; a branch the network lacks is all zeros
    assert f["b16_cells_s8"] + f["b16_cells_s16"] == len(cells[1]) == 9
    assert f["b32_cells_s8"] + f["b32_cells_s16"] + f["b32_cells_s32"] == len(cells[2]) == 10
    assert f["b8_cells_s8"] == f["b8_conv_depth"] == 0.0
    assert f["b32_minwidth_s32"] == min(c.c_out for c in cells[2] if c.scale_in == 2)
    # a 2x cell stacks two convolutions; shared cells count once in the network's total
    assert f["b16_conv_depth"] == sum(2 if "2x" in c.op else 1 for c in cells[1])
    assert len(cells[1]) <= f["b16_conv_depth"] <= 2 * len(cells[1])
    assert f["conv_layers"] < f["b16_conv_depth"] + f["b32_conv_depth"]  # 3 shared cells


@pytest.mark.parametrize("name", FEATURE_SETS)
def test_every_feature_set_encodes_by_name(name: str) -> None:
    space = get_space("fasterseg")
    a = load_arch("fasterseg")
    assert name in space.feature_sets()
    x = space.encode(a, name)
    assert x == feature_set(a, name) and len(x) == len(feature_set_names(name)) == len(space.encoding_names(name))
    assert x[: len(feature_names())] == structure_features(a)  # every set starts with the structure features
    with pytest.raises(UnknownNameError, match="structure-paths"):
        space.encode(a, "no-such-set")


def test_a_space_with_one_encoding_names_it_and_refuses_others() -> None:
    space = get_space("micro")
    key = "64-41414-1_02_333"
    assert space.feature_sets() == ("onehot",)
    assert space.encode(key, "onehot") == space.encode(key) and len(space.encode(key)) == 24
    with pytest.raises(UnknownNameError, match="onehot"):
        space.encode(key, "structure")


def test_a_predictor_keeps_its_feature_set(tmp_path: Path) -> None:
    first = _first_rows(tmp_path, 32)
    out = tmp_path / "paths.json"
    assert main(["predictor", "fit", "--space", "fasterseg", "--bench", str(first), "--model", "ridge",
                 "--features", "structure-paths", "--repeats", "0", "--out", str(out)]) == 0
    pred = FittedPredictor.load(out)
    assert pred.config.features == "structure-paths" and "--features structure-paths" in pred.meta["command"]
    assert pred.x.shape == (32, len(feature_set_names("structure-paths")))
    assert pred.features(load_arch("fasterseg")).shape == (1, pred.x.shape[1])
    plain = fit_predictor("fasterseg", [first], PredictorConfig(model="ridge"), repeats=0)
    assert plain.x.shape[1] == len(feature_names()) and plain.score("fasterseg") != pred.score("fasterseg")
    # an unknown set fails before anything is written
    bad = tmp_path / "bad.json"
    assert main(["predictor", "fit", "--space", "fasterseg", "--bench", str(first), "--features", "nope",
                 "--repeats", "0", "--out", str(bad)]) != 0
    assert not bad.exists()


def test_labelled_set_pools_files_and_averages_repeated_architectures(tmp_path: Path) -> None:
    first = _first_rows(tmp_path, 32)
    keys, x, y = labelled_set("fasterseg", [first])
    assert len(keys) == 32 and x.shape == (32, len(feature_names())) and y.shape == (32,)
    # the same file twice: same architectures, same (averaged) labels
    keys2, _, y2 = labelled_set("fasterseg", [first, first])
    assert keys2 == keys and np.allclose(y2, y)
    assert 15.0 < y.min() < y.max() < 40.0  # mIoU in %
    # the default is the whole shipped file: one row per architecture, seeds averaged
    all_keys, _, all_y = labelled_set("fasterseg")
    assert set(all_keys) == _shipped_keys() and len(all_y) == len(all_keys) > 32


def test_fit_validate_save_load_predict(tmp_path: Path) -> None:
    pred = fit_predictor("fasterseg", [_first_rows(tmp_path, 32)], config=SMALL, seed=1, repeats=3)
    val = pred.meta["validation"]
    assert val["half"]["k"] == 16 and val["half"]["n_test"] == 16 and val["half"]["repeats"] == 3
    assert -1.0 <= val["half"]["mean"] <= 1.0
    assert [c["k"] for c in val["curve"]] == []  # 32 archs: only the half split (k=16) leaves >= 8 to rank
    path = tmp_path / "pred.json"
    pred.save(path)
    again = FittedPredictor.load(path)
    archs = sample_archs(3, 7, pool_factor=1)
    assert again.score_many(archs) == pred.score_many(archs)  # refitted from the file: same predictions
    assert again.score(archs[0]) == pytest.approx(pred.score_many(archs)[0])
    # the same seed gives the same predictor; predictions stay in the labels' range for a forest
    same = fit_predictor("fasterseg", [_first_rows(tmp_path, 32)], config=SMALL, seed=1, repeats=0)
    assert same.score_many(archs) == pred.score_many(archs)
    assert all(pred.y.min() <= v <= pred.y.max() for v in pred.score_many(archs))


def test_split_kendall_is_seeded() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    y = x[:, 0] + 0.1 * rng.normal(size=30)
    a = split_kendall(x, y, SMALL, 15, 4, seed=2)
    assert a == split_kendall(x, y, SMALL, 15, 4, seed=2)
    assert a["mean"] > 0.5  # a learnable target is ranked well on held-out rows


def test_damaged_or_mismatched_predictor_files_fail_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CorruptDataError, match="not a saswot predictor file"):
        FittedPredictor.load(bad)
    pred = fit_predictor("fasterseg", config=SMALL, repeats=0)
    doc = pred.to_json()
    doc["y"] = doc["y"][:-1]
    bad.write_text(json.dumps(doc))
    with pytest.raises(CorruptDataError, match="damaged"):
        FittedPredictor.load(bad)
    narrow = FittedPredictor("fasterseg", SMALL, 0, pred.keys, pred.x[:, :5], pred.y)
    with pytest.raises(ScoreError, match="fit it again"):
        narrow.score("fasterseg")


@pytest.mark.parametrize(("model", "clip"), [("ridge", []), ("rank", ["--clip-features"])])
def test_cli_fits_a_linear_predictor_and_predicts_by_key(tmp_path: Path, model: str, clip: list[str]) -> None:
    out = tmp_path / f"{model}.json"
    first = _first_rows(tmp_path, 32)
    assert main(["predictor", "fit", "--space", "fasterseg", "--bench", str(first), "--model", model, *clip,
                 "--repeats", "2", "--out", str(out)]) == 0
    pred = FittedPredictor.load(out)
    assert pred.config.model == model and pred.meta["command"].split("--model ")[1].startswith(model)
    assert pred.config.clip_features == bool(clip) and ("--clip-features" in pred.meta["command"]) == bool(clip)
    # fitted on the ground truth it ranks: the labels' own order, well above chance
    assert stats.kendalltau(pred.score_many(pred.keys), pred.y).statistic > 0.3
    key = load_arch("fasterseg").key()
    preds = tmp_path / "preds.json"
    assert main(["predictor", "predict", str(out), key, "--out", str(preds)]) == 0  # an architecture given by its key
    got = json.loads(preds.read_text())["predictions"][0]["prediction"]
    assert got == pytest.approx(pred.score("fasterseg")) and math.isfinite(got)


def test_cli_fit_info_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.json"
    first = _first_rows(tmp_path, 32)
    assert main(["predictor", "fit", "--space", "fasterseg", "--bench", str(first), "--repeats", "2",
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["format"] == "saswot-predictor" and doc["meta"]["archs"] == 32
    assert doc["meta"]["command"].startswith("saswot predictor fit --space fasterseg")
    assert main(["predictor", "info", str(out)]) == 0
    preds = tmp_path / "preds.json"
    assert main(["predictor", "predict", str(out), "fasterseg", "--out", str(preds)]) == 0
    got = json.loads(preds.read_text())["predictions"]
    assert got[0]["arch"] == "fasterseg" and got[0]["prediction"] == pytest.approx(
        FittedPredictor.load(out).score("fasterseg")
    )
    assert "fasterseg" in capsys.readouterr().out


def test_predictor_objective_scores_architectures_and_drives_a_search(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    fit_predictor("fasterseg", config=SMALL, repeats=0).save(path)
    objective = PredictorObjective(f"predictor:{path}", "fasterseg")
    assert is_predictor_ref(objective.name) and objective.spec.needs_avt is False
    assert objective.spec.cache_key.startswith(f"predictor:{path}#")
    arch = load_arch("fasterseg")
    assert objective(arch) == pytest.approx(FittedPredictor.load(path).score(arch))
    assert pickle.loads(pickle.dumps(objective))(arch) == objective(arch)  # travels to worker processes
    with pytest.raises(UnknownNameError, match="saswot predictor fit"):
        resolve_predictor_path("predictor:no-such-thing", "fasterseg")
    with pytest.raises(UnknownNameError, match="fitted on space 'fasterseg'"):
        PredictorObjective(str(path), "micro")

    def search(seed: int) -> tuple[str, float]:
        problem = FasterSegProblem(SpaceConfig(), objective, Budget(max_gmacs=27.8))
        res = evolve(problem, EvolutionConfig(iterations=2, population=6, topk=2), np.random.default_rng(seed))
        best = problem.decode(res.best)
        assert objective(best) == pytest.approx(res.best_fitness)  # the fitness is the prediction
        assert problem.cost(best)["gmacs"] <= 27.8  # under the budget
        return best.key(), res.best_fitness

    assert search(0) == search(0)  # same seed, same result


def test_rank_and_search_arch_accept_a_predictor_file(tmp_path: Path) -> None:
    half = _first_rows(tmp_path, 16)
    n = len(_shipped_keys())
    pred = tmp_path / "p.json"
    assert main(["predictor", "fit", "--space", "fasterseg", "--bench", str(half), "--repeats", "0", "--out", str(pred)]) == 0
    out = tmp_path / "rank.json"
    code = main(["rank", "--space", "fasterseg", "--proxies", f"predictor:{pred},params", "--samples", "2",
                 "--sample-size", "8", "--data", "random", "--threads", "1", "--quiet", "--out", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    name = f"predictor:{pred}"
    # judged only on the networks it was not fitted on, with a note saying so
    assert doc["archs_per_proxy"][name] == n - 16 and doc["archs_per_proxy"]["params"] == n
    assert any(m.startswith(f"{name}: judged on {n - 16} of {n}") and "fitted on" in m for m in doc["notes"])
    fitted = FittedPredictor.load(pred)
    some = next(k for k in doc["archs"] if k not in fitted.keys)
    assert doc["archs"][some]["scores"][name] == pytest.approx(fitted.score(get_space("fasterseg").parse(some)))
    arch = tmp_path / "arch.json"
    code = main(["search-arch", "--proxy", f"predictor:{pred}", "--max-gmacs", "27.8", "--generations", "1",
                 "--population", "4", "--topk", "2", "--data", "random", "--threads", "1", "--quiet",
                 "--out", str(arch)])
    assert code == 0
    found = json.loads(arch.read_text())
    assert found["search"]["proxy"] == name and found["search"]["gmacs"] <= 27.8
    assert found["search"]["score"] == pytest.approx(fitted.score(load_arch(str(arch))))


@pytest.mark.parametrize("name", ["camvid", "camvid-v1", "camvid-v2", "camvid-v3", "camvid-v4", "camvid-v5"])
def test_the_shipped_camvid_predictors_resolve_by_name_and_score(name: str) -> None:
    assert name in shipped_predictors("fasterseg")
    path = resolve_predictor_path(f"predictor:{name}", "fasterseg")
    assert path.name == f"predictor-{name}.json"
    objective = PredictorObjective(f"predictor:{name}", "fasterseg")
    shipped = FittedPredictor.load(path)
    assert shipped.meta["archs"] >= 41 and shipped.meta["validation"]["half"]["repeats"] == 50
    value = objective(load_arch("fasterseg"))
    assert value is not None and 0.0 < value < 100.0  # a predicted mIoU in %
    if shipped.config.model == "rf":  # a forest predicts within its labels' range
        assert shipped.y.min() <= value <= shipped.y.max()


def test_the_default_camvid_predictor_is_the_fifth_one() -> None:
    default = FittedPredictor.load(resolve_predictor_path("predictor:camvid", "fasterseg"))
    v1 = FittedPredictor.load(resolve_predictor_path("predictor:camvid-v1", "fasterseg"))
    v2 = FittedPredictor.load(resolve_predictor_path("predictor:camvid-v2", "fasterseg"))
    v5 = FittedPredictor.load(resolve_predictor_path("predictor:camvid-v5", "fasterseg"))
    assert default.to_json() == v5.to_json() and default.config.model == "rank" and len(default.keys) == 337
    assert v2.config.model == "ridge" and len(v2.keys) == 209  # the default before v5, kept to reproduce results
    assert v1.config.model == "rf" and len(v1.keys) == 41


def test_the_third_camvid_predictor_holds_out_sample_seven() -> None:
    v3 = FittedPredictor.load(resolve_predictor_path("predictor:camvid-v3", "fasterseg"))
    assert v3.config.model == "ridge" and v3.config.features == "structure-paths"
    assert v3.x.shape[1] == len(feature_set_names("structure-paths"))
    rows = [json.loads(line) for line in SHIPPED.read_text().splitlines() if line.strip()]
    held = {r["key"] for r in rows if r["label"].startswith("g7-")}
    assert len(held) == 32 and not held & set(v3.keys)  # judged on sample 7, so never fitted on it


@pytest.mark.parametrize(("name", "held_out_sample", "archs"), [("camvid-v4", 9, 282), ("camvid-v5", 11, 337)])
def test_the_rank_camvid_predictors_hold_out_their_test_sample(name: str, held_out_sample: int, archs: int) -> None:
    fitted = FittedPredictor.load(resolve_predictor_path(f"predictor:{name}", "fasterseg"))
    assert fitted.config.model == "rank" and fitted.config.features == "structure-paths" and fitted.config.clip_features
    # the networks `minibench run --k 32 --sample-seed N` trains: judged on them, so never fitted on them
    held = {a.key() for a in sample_archs(32, held_out_sample)}
    assert len(held) == 32 and not held & set(fitted.keys)
    assert len(fitted.keys) == archs


def test_search_arch_without_a_proxy_optimises_the_spaces_calibrated_objective(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--max-gmacs", "27.8", "--generations", "1", "--population", "4", "--topk", "2", "--threads", "1", "--quiet"]
    runs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.json"
        assert main(["search-arch", *args, "--out", str(out)]) == 0
        runs.append(json.loads(out.read_text()))
    assert "objective: predictor:camvid (the default in fasterseg" in capsys.readouterr().err
    explicit = tmp_path / "explicit.json"
    assert main(["search-arch", "--proxy", "predictor:camvid", *args, "--out", str(explicit)]) == 0
    same = json.loads(explicit.read_text())
    assert runs[0]["search"]["proxy"] == "predictor:camvid" and runs[0]["search"]["gmacs"] <= 27.8
    # same seed, same result, and the same as naming the objective
    assert runs[0]["key"] == runs[1]["key"] == same["key"]
    assert runs[0]["search"]["score"] == runs[1]["search"]["score"] == same["search"]["score"]
    assert get_space("fasterseg").default_objective == "predictor:camvid"


def test_info_and_predict_take_a_shipped_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predictor", "info", "predictor:camvid-v1"]) == 0
    assert "model rf, 41 labelled architectures" in " ".join(capsys.readouterr().out.split())
    preds = tmp_path / "preds.json"
    assert main(["predictor", "predict", "predictor:camvid", "fasterseg", "--out", str(preds)]) == 0
    doc = json.loads(preds.read_text())
    assert doc["predictor"].endswith("predictor-camvid.json")
    assert doc["predictions"][0]["prediction"] == pytest.approx(
        PredictorObjective("predictor:camvid", "fasterseg")(load_arch("fasterseg"))
    )
    assert main(["predictor", "info", str(tmp_path / "missing.json")]) != 0
    assert "make one with `saswot predictor fit" in capsys.readouterr().err
