"""Faults lose nothing: a benchmark-file worker killed with SIGKILL at random points (inside the
append, between appends, during training) never corrupts the file and loses at most the job in
progress; a rerun finishes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from saswot.workflows.minibench import ENTRY_FORMAT, BenchFile

ROOT = Path(__file__).resolve().parents[1]

APPENDER = r"""
import json, os, signal, sys
import saswot.spaces.fasterseg.benchfile as mb

path, start, count, fault = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
real_write, real_truncate = os.write, os.truncate
if fault == "torn-write":  # the kill lands inside the write: half the line reaches the file
    def write(fd, data):
        real_write(fd, data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    mb.os.write = write
elif fault == "after-truncate":
    def truncate(p, n):
        real_truncate(p, n)
        os.kill(os.getpid(), signal.SIGKILL)
    mb.os.truncate = truncate
bench = mb.BenchFile(path)
print("ready", flush=True)
for i in range(start, start + count):
    entry = {"format": mb.ENTRY_FORMAT, "key": f"k{i}", "seed": 0, "recipe_id": "r", "miou": 0.5,
             "label": f"k{i}", "pad": "x" * 200_000}
    bench.append(entry)
    print(i, flush=True)
"""


def _appender(path: Path, start: int, count: int, fault: str = "none") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(path), str(start), str(count), fault],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )


def _check(path: Path, acked: set[str], attempted: set[str]) -> list[str]:
    """The file reads cleanly; it holds every acknowledged entry, nothing outside ``attempted``, no duplicate."""
    keys = [e["key"] for e in BenchFile(path).entries()]
    assert len(keys) == len(set(keys)), "duplicate entry"
    assert acked <= set(keys) <= attempted, (sorted(acked - set(keys)), sorted(set(keys) - attempted))
    return keys


@pytest.mark.parametrize("fault", ["torn-write", "after-truncate"])
def test_a_kill_inside_the_append_loses_only_that_entry(tmp_path: Path, fault: str) -> None:
    path = tmp_path / "bench.jsonl"
    proc = _appender(path, 0, 3)  # three clean entries first
    assert proc.wait(60) == 0
    # a torn line first (the after-truncate fault needs one to repair), then the fault under test
    for round_, what in enumerate(["torn-write", fault]):
        proc = _appender(path, 10 + round_, 1, what)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL and out.split() == ["ready"]
        _check(path, {"k0", "k1", "k2"}, {"k0", "k1", "k2", "k10", "k11"})
    # the next writer repairs the torn tail and appends; nothing acknowledged is lost
    proc = _appender(path, 20, 2)
    assert proc.wait(60) == 0
    keys = _check(path, {"k0", "k1", "k2", "k20", "k21"}, {"k0", "k1", "k2", "k10", "k11", "k20", "k21"})
    assert keys[-2:] == ["k20", "k21"]


def test_kills_at_random_times_never_corrupt_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(2026)
    path = tmp_path / "bench.jsonl"
    acked: set[str] = set()
    attempted: set[str] = set()
    unacked: set[str] = set()  # entries written by a process killed before it could acknowledge them
    start = 0
    for _ in range(6):
        proc = _appender(path, start, 40)
        attempted |= {f"k{i}" for i in range(start, start + 40)}
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.5)))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        acked |= {f"k{int(line)}" for line in out.split()}
        keys = _check(path, acked, attempted)
        new = set(keys) - acked - unacked
        assert len(new) <= 1  # this kill left at most the entry it interrupted unacknowledged
        unacked |= new
        start += 40
    assert acked, "no append finished before the kills: the delays are too short for this machine"


#: The one-epoch recipe of the killed worker (built the same way in the worker and in the test).
TINY_RECIPE = dict(name="t", epochs=1, base_size=None, crop=(64, 64), scales=(1.0,), eval_size=None, batch_size=2,
                   lr=0.01, eval_every=1)

WORKER = r"""
import sys, time
from pathlib import Path
import saswot.workflows.minibench.worker as worker
from saswot.workflows.minibench import BenchFile, Recipe, RunContext, make_jobs, run_worker, sample_archs
TINY = Recipe(**""" + repr(TINY_RECIPE) + r""")

real_train_job = worker.train_job
def train_job(job, recipe, ctx, **kw):
    # every job after the first announces its training and, once its epoch is done, holds before
    # the result is appended: the kill is certain to land while that job is unfinished
    if job.label != "a0":
        on_epoch = kw["on_epoch"]
        def hold(state):
            on_epoch(state)
            time.sleep(600)
        kw["on_epoch"] = hold
        print("training", job.label, flush=True)
    return real_train_job(job, recipe, ctx, **kw)
worker.train_job = train_job

tmp = Path(sys.argv[1])
archs = sample_archs(3, 0, pool_factor=2)
jobs = make_jobs([(f"a{i}", a) for i, a in enumerate(archs)], [0])
ctx = RunContext(tmp / "work", data_root=str(tmp / "data"), latency=False, command="test", threads=1)
run_worker(jobs, TINY, BenchFile(tmp / "bench.jsonl"), ctx)
"""


def test_a_worker_killed_during_training_loses_only_its_job(tmp_path: Path, make_camvid: Callable[..., Path]) -> None:
    from saswot.workflows.minibench import Recipe, RunContext, make_jobs, run_worker, sample_archs

    TINY = Recipe(**TINY_RECIPE)

    make_camvid(tmp_path / "data", n_train=4, n_val=2, h=64, w=64)
    bench = tmp_path / "bench.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            text=True)
    # the second job announces its training once the first job's entry is in the file; the kill
    # lands at a random point of that training (or while it holds before appending its result)
    assert proc.stdout is not None
    assert proc.stdout.readline().split() == ["training", "a1"]
    time.sleep(float(np.random.default_rng(7).uniform(0.0, 1.0)))
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    before = [e["label"] for e in BenchFile(bench).entries()]
    assert before == ["a0"]
    # a rerun trains only what is missing (the killed worker's claim is recognised as dead)
    archs = sample_archs(3, 0, pool_factor=2)
    jobs = make_jobs([(f"a{i}", a) for i, a in enumerate(archs)], [0])
    ctx = RunContext(tmp_path / "work", data_root=str(tmp_path / "data"), latency=False, command="test", threads=1)
    written = run_worker(jobs, TINY, BenchFile(bench), ctx)
    after = [e["label"] for e in BenchFile(bench).entries()]
    assert sorted(after) == ["a0", "a1", "a2"]
    assert {e["label"] for e in written} == {"a0", "a1", "a2"} - set(before)
    assert json.loads(bench.read_text().splitlines()[-1])["format"] == ENTRY_FORMAT
