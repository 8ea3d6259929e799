"""saswot.workflows.minibench: recipe identity, stratified sampling, the shared bench file, claims, the
resumable worker on a tiny synthetic CamVid, and proxy correlation against a fake bench file."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import pytest

from saswot.config import ProxyBatch
from saswot.errors import CorruptDataError, SaswotError
from saswot.spaces.fasterseg.cost import arch_cost
from saswot.workflows.minibench import (
    ENTRY_FORMAT,
    BenchFile,
    Claims,
    Recipe,
    RunContext,
    bench_correlations,
    claim_next,
    load_bench,
    make_jobs,
    noise_summary,
    progress_of,
    run_worker,
    sample_archs,
    sampled_jobs,
    score_bench_archs,
    spread_order,
    summarize_by_label,
    train_job,
)

TINY = Recipe(name="t", epochs=1, base_size=None, crop=(64, 64), scales=(1.0,), eval_size=None, batch_size=2,
              lr=0.01, eval_every=1)


def _entry(key: str, seed: int = 0, recipe_id: str = "r", miou: float = 0.5, **extra: object) -> dict:
    return {"format": ENTRY_FORMAT, "key": key, "seed": seed, "recipe_id": recipe_id, "miou": miou,
            "label": key, "wall_s": 60.0, "params_m": 1.0, "gmacs": 1.0, "arch": {}, **extra}


def test_recipe_identity_and_round_trip() -> None:
    r = Recipe()
    assert Recipe.from_json(r.to_json()) == r
    assert Recipe(name="other").recipe_id == r.recipe_id  # the name is a label only
    assert Recipe(epochs=9).recipe_id != r.recipe_id
    with pytest.raises(CorruptDataError):
        Recipe.from_json({**r.to_json(), "bogus": 1})
    assert Recipe.from_json({**r.to_json(), "recipe_id": r.recipe_id}) == r
    with pytest.raises(CorruptDataError, match="hash"):
        Recipe.from_json({**r.to_json(), "epochs": 9, "recipe_id": r.recipe_id})


def test_sample_archs_seeded_under_budget_and_stratified() -> None:
    a = sample_archs(4, 3, pool_factor=2)
    b = sample_archs(4, 3, pool_factor=2)
    assert [x.key() for x in a] == [x.key() for x in b]
    g = [arch_cost(x, (1024, 2048), 19).gmacs for x in a]
    assert len({x.key() for x in a}) == 4 and all(v <= 27.8 for v in g) and g == sorted(g)
    assert [x.key() for x in sample_archs(4, 4, pool_factor=2)] != [x.key() for x in a]
    with pytest.raises(SaswotError, match="GMACs"):
        sample_archs(2, 0, max_gmacs=1.0, max_draws=200)


def test_spread_order_is_a_permutation_whose_prefixes_span_the_range() -> None:
    assert spread_order(8) == [0, 4, 2, 6, 1, 5, 3, 7]
    for n in (1, 2, 3, 5, 32, 33):
        assert sorted(spread_order(n)) == list(range(n))
    assert max(spread_order(32)[:2]) >= 16


def _append_many(path: str, worker: int, n: int) -> None:
    bf = BenchFile(path)
    for i in range(n):
        bf.append(_entry(f"arch{i % 7}-{(worker + i) % 3}", miou=float(worker)))


def test_concurrent_appends_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "b.jsonl")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(path, w, 21)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    keys = [e["key"] for e in BenchFile(path).entries()]
    assert len(keys) == len(set(keys)) == 21  # 7 archs x 3 variants, each exactly once
    assert not BenchFile(path).append(_entry(keys[0]))


def test_truncated_last_line_is_skipped_and_corrupt_line_raises(tmp_path: Path) -> None:
    p = tmp_path / "b.jsonl"
    p.write_text(json.dumps(_entry("a")) + "\n" + '{"format": "saswot-mini')
    bf = BenchFile(p)
    assert [e["key"] for e in bf.entries()] == ["a"]
    assert bf.append(_entry("b"))
    assert [e["key"] for e in bf.entries()] == ["a", "b"]
    assert p.read_text().count("\n") == 2  # the partial line was dropped, not kept as garbage
    p.write_text("not json\n" + json.dumps(_entry("a")) + "\n")
    with pytest.raises(CorruptDataError, match=":1:"):
        bf.entries()


def test_claims_keep_workers_apart_and_expire(tmp_path: Path) -> None:
    jobs = sampled_jobs(2, 0, [0], pool_factor=2)
    bf = BenchFile(tmp_path / "b.jsonl")
    c1 = Claims(tmp_path / "claims", lease_s=100, owner="otherhost:1")
    c2 = Claims(tmp_path / "claims", lease_s=100, owner="otherhost:2")
    c1.folder.mkdir()
    j1 = claim_next(jobs, TINY, bf, c1)
    j2 = claim_next(jobs, TINY, bf, c2)
    assert j1 is not None and j2 is not None and j1.key != j2.key
    assert claim_next(jobs, TINY, bf, Claims(c1.folder, 100, "otherhost:3")) is None
    # an abandoned claim (no heartbeat within the lease) is taken over
    p = c1.folder / f"{j1.job_id(TINY)}.json"
    d = json.loads(p.read_text())
    d["heartbeat"] = time.time() - 1000
    p.write_text(json.dumps(d))
    assert claim_next(jobs, TINY, bf, Claims(c1.folder, 100, "otherhost:3")).key == j1.key
    # a claim of a dead process on this host is taken over at once
    import socket

    dead = Claims(c1.folder, 100, f"{socket.gethostname()}:{2 ** 22 + 12345}")
    c2.release(j2.job_id(TINY))
    dead.take(j2.job_id(TINY))
    assert claim_next(jobs, TINY, bf, Claims(c1.folder, 100, "otherhost:4")).key == j2.key


def test_progress_line_counts_and_eta(tmp_path: Path) -> None:
    jobs = sampled_jobs(3, 0, [0], pool_factor=2)
    bf = BenchFile(tmp_path / "b.jsonl")
    bf.append(_entry(jobs[0].key, recipe_id=TINY.recipe_id))
    pr = progress_of(jobs, TINY, bf)
    assert (pr.done, pr.total, pr.eta_s) == (1, 3, 120.0)
    assert "1/3 done" in pr.line() and "ETA 2 min" in pr.line()


class _Stop(Exception):
    pass


def test_worker_trains_appends_skips_and_resumes(make_camvid, tmp_path: Path, one_torch_thread: None) -> None:
    root = make_camvid(tmp_path / "data", n_train=4, n_val=2, h=64, w=64)
    archs = sample_archs(2, 0, pool_factor=2)
    two = Recipe(**{**TINY.to_json(), "epochs": 2, "crop": (64, 64)})
    jobs = make_jobs([("a", archs[0]), ("b", archs[1])], [0])
    bf = BenchFile(tmp_path / "bench.jsonl")
    ctx = RunContext(tmp_path / "work", data_root=str(root), latency=False, command="test")

    # interrupt job "a" after its first epoch, as a killed worker would be
    def stop() -> None:
        raise _Stop

    with pytest.raises(_Stop):
        train_job(jobs[0], two, ctx, heartbeat=stop)
    run_a = tmp_path / "work" / "jobs" / jobs[0].job_id(two)
    assert (run_a / "last.pt").is_file() and not bf.entries()
    first_epoch = json.loads((run_a / "metrics.jsonl").read_text().splitlines()[0])

    written = run_worker(jobs, two, bf, ctx)
    assert [e["label"] for e in written] == ["a", "b"]
    ea = written[0]
    assert [c["epoch"] for c in ea["curve"]] == [1, 2]
    assert ea["curve"][0]["time_s"] == first_epoch["time_s"]  # continued from the checkpoint, not restarted
    # the wall time counts both calls: the interrupted one (its first epoch) and the one that finished
    assert ea["calls"] == 2 and written[1]["calls"] == 1
    assert ea["wall_s"] >= round(sum(c["time_s"] for c in ea["curve"]), 1) - 0.1
    for field in ("key", "arch", "params_m", "gmacs", "latency_ms", "miou", "curve", "recipe", "seed",
                  "version", "git_sha", "wall_s", "command"):
        assert field in ea
    assert 0.0 <= ea["miou"] <= 1.0 and ea["miou"] == ea["curve"][-1]["val_miou"]
    assert (run_a / "final.pt").is_file() and not (run_a / "last.pt").exists()
    assert not list((tmp_path / "work" / "claims").iterdir())
    assert run_worker(jobs, two, bf, ctx) == []  # finished jobs are skipped
    assert len(bf.entries()) == 2
    assert set(load_bench(bf.path)) == {archs[0].key(), archs[1].key()}


def test_rank_correlates_proxies_with_a_bench_file(tmp_path: Path, one_torch_thread: None) -> None:
    archs = sample_archs(4, 1, pool_factor=2)
    bf = BenchFile(tmp_path / "b.jsonl")
    for a in archs:
        p = arch_cost(a, (1024, 2048), 19).params_m
        bf.append(_entry(a.key(), miou=p / 10, arch=a.to_json(), params_m=p))  # truth = params
    groups = load_bench(bf.path)
    keys = list(groups)
    settings = ProxyBatch(resolution=(64, 128), batch_size=2, data="random", num_classes=19)
    scores, _ = score_bench_archs([archs[[a.key() for a in archs].index(k)] for k in keys], ["params", "nwot"],
                                  settings, progress=False)
    corr = bench_correlations(scores, [groups[k]["miou"] for k in keys])
    assert corr["params"]["kendall"] == pytest.approx(1.0) and corr["params"]["n"] == 4
    assert -1.0 <= corr["nwot"]["kendall"] <= 1.0


def test_load_bench_refuses_mixed_recipes(tmp_path: Path) -> None:
    bf = BenchFile(tmp_path / "b.jsonl")
    bf.append(_entry("a", recipe_id="r1"))
    bf.append(_entry("a", recipe_id="r2", miou=0.7))
    with pytest.raises(CorruptDataError, match="several recipes"):
        load_bench(bf.path)
    assert load_bench(bf.path, "r2")["a"]["miou"] == 0.7
    other = BenchFile(tmp_path / "c.jsonl")
    other.append(_entry("a", seed=1, recipe_id="r2", miou=0.5))
    other.append(_entry("b", recipe_id="r2", miou=0.1))
    pooled = load_bench([bf.path, other.path], "r2")
    assert pooled["a"]["miou"] == pytest.approx(0.6) and pooled["a"]["seeds"] == [0, 1] and set(pooled) == {"a", "b"}
    assert os.path.exists(bf.path)


def test_noise_summary_separates_seed_and_arch_spread() -> None:
    entries = [_entry("a", 0, miou=0.20), _entry("a", 1, miou=0.22), _entry("b", 0, miou=0.30),
               _entry("b", 1, miou=0.31), _entry("c", 0, miou=0.40)]
    rows = summarize_by_label(entries)
    assert [r["label"] for r in rows] == ["a", "b", "c"] and rows[0]["miou_spread"] == pytest.approx(0.02)
    n = noise_summary(rows)
    assert n["archs"] == 2 and n["seed_spread_max"] == pytest.approx(0.02)
    assert n["arch_range"] == pytest.approx(0.095) and 0.9 < n["between_fraction"] <= 1.0
    assert noise_summary(rows[2:]) is None


def test_one_architecture_under_two_labels_is_trained_once_and_reported_twice() -> None:
    a, b = sample_archs(2, 0, pool_factor=2)
    jobs = make_jobs([("x", a), ("y", b), ("z", a)], [0, 1])
    assert [j.label for j in jobs] == ["x+z", "y", "x+z", "y"]
    rows = summarize_by_label([_entry(a.key(), 0, label="x+z", miou=0.3), _entry(b.key(), 0, label="y")])
    assert [(r["label"], r["key"]) for r in rows] == [("x", a.key()), ("z", a.key()), ("y", b.key())]
    with pytest.raises(SaswotError, match="may not contain"):
        make_jobs([("p+q", a)], [0])


def test_a_diverging_job_is_recorded_once_and_left_out_of_the_ground_truth(make_camvid, 
    tmp_path: Path, one_torch_thread: None
) -> None:
    root = make_camvid(tmp_path / "data", n_train=2, n_val=1, h=64, w=64)
    wild = Recipe(**{**TINY.to_json(), "crop": (64, 64), "lr": 1e12})
    jobs = make_jobs([("w", sample_archs(1, 0, pool_factor=1)[0])], [0])
    bf = BenchFile(tmp_path / "bench.jsonl")
    ctx = RunContext(tmp_path / "work", data_root=str(root), latency=False)
    written = run_worker(jobs, wild, bf, ctx)
    assert len(written) == 1 and written[0]["status"] == "diverged" and written[0]["miou"] is None
    assert "diverged" in written[0]["error"]
    assert run_worker(jobs, wild, bf, ctx) == []  # final: not retried
    assert load_bench(bf.path) == {} and summarize_by_label(bf.entries()) == []


def test_cli_rank_summary_status_on_a_fake_bench(tmp_path: Path, one_torch_thread: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from saswot.cli.main import main

    archs = sample_archs(3, 2, pool_factor=1)
    bench = tmp_path / "b.jsonl"
    bf = BenchFile(bench)
    for i, a in enumerate(archs):
        p = arch_cost(a, (1024, 2048), 19).params_m
        bf.append(_entry(a.key(), miou=p, arch=a.to_json(), params_m=p, label=f"m{i}"))
    bf.append(_entry(archs[0].key(), seed=1, miou=None, arch=archs[0].to_json(), label="m0"))  # a diverged run
    out = tmp_path / "rank.json"
    assert main(["minibench", "rank", "--bench", str(bench), "--proxies", "params", "--data", "random",
                 "--proxy-resolution", "64x128", "--threads", "1", "--quiet", "--out", str(out),
                 "--plots", str(tmp_path / "plots")]) == 0
    res = json.loads(out.read_text())
    assert res["n_archs"] == 3 and res["diverged"] == ["m0"]
    assert res["correlations"]["params"]["kendall"] == pytest.approx(1.0)
    assert (tmp_path / "plots" / "params.png").is_file()
    assert main(["minibench", "summary", "--bench", str(bench), "--out", str(tmp_path / "s.json")]) == 0
    assert [r["label"] for r in json.loads((tmp_path / "s.json").read_text())["rows"]] == ["m0", "m1", "m2"]
    assert main(["minibench", "status", "--bench", str(bench), "--arch", "fasterseg"]) == 0
    assert "0/1done" in "".join(capsys.readouterr().out.split())
    assert main(["minibench", "run", "--bench", str(bench), "--seeds", "0,0", "--arch", "fasterseg"]) == 2
