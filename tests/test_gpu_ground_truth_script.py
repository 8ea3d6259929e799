"""CPU smoke test of benchmarks/gpu_ground_truth.sh (the prepared GPU call for the FasterSeg ground truth)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_ground_truth.sh"


def test_gpu_ground_truth_script_trains_every_step_on_cpu(tiny_setup: Callable[..., Path], tmp_path: Path) -> None:
    root = tiny_setup(tmp_path, amp=False)
    recipe = str(tmp_path / "recipe.json")
    ret, work = tmp_path / "ret", tmp_path / "work"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "SASWOT_DATA": str(root), "OUT": str(ret), "WORK": str(work), "DEVICE": "cpu", "SHORT": recipe,
           "LONG": recipe, "K": "2", "FIRST": "1", "SAMPLE_SEEDS": "2", "PARALLEL": "2", "TIME_BUDGET_S": "400"}
    env.pop("SASWOT_CACHE", None)
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=REPO, check=False, env=env, capture_output=True, text=True,
                          timeout=600)
    log = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, log
    assert sorted(p.name for p in ret.iterdir()) == [
        "commands.txt", "minibench-camvid-gpu.jsonl", "minibench-fidelity-camvid-gpu.jsonl", "session.log"]

    def entries(name: str) -> list[dict]:
        return [json.loads(line) for line in (ret / name).read_text().splitlines()]

    long, short = entries("minibench-fidelity-camvid-gpu.jsonl"), entries("minibench-camvid-gpu.jsonl")
    # the recipe check: the first network with both recipes and two seeds each
    assert sorted((e["label"], e["seed"]) for e in long) == [("g0-000", 0), ("g0-000", 1)]
    # then the scale-up: the shipped sample with two seeds, a new sample seed with one; each job once
    assert sorted((e["label"], e["seed"]) for e in short) == [
        ("g0-000", 0), ("g0-000", 1), ("g0-001", 0), ("g0-001", 1), ("g2-000", 0), ("g2-001", 0)]
    assert all(e.get("miou") is not None for e in long + short)
    assert "DEVICE=cpu" in (ret / "commands.txt").read_text()
