"""CPU smoke test of benchmarks/gpu_table4.sh at a tiny setting (synthetic CamVid, tiny search)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_table4.sh"


def test_gpu_table4_script_runs_end_to_end_on_cpu(tiny_setup, tmp_path: Path) -> None:
    root = tiny_setup(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "SASWOT_DATA": str(root), "SASWOT_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1",
           "OUT": str(out), "DEVICE": "cpu", "SEEDS": "0", "PROXIES": "nwot", "EPOCHS": "1", "PARALLEL": "2",
           "WORKERS": "0", "RECIPE": str(tmp_path / "recipe.json"), "RUN_ARGS": "--no-latency --threads 1",
           "SEARCH_ARGS": "--generations 1 --population 2 --topk 1 --proxy-resolution 64x128 --data random",
           "SASWOT": f"{sys.executable} -m saswot.cli.main"}
    proc = subprocess.run(["bash", str(SCRIPT)], check=False, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert sorted(r["label"] for r in rows) == ["fasterseg", "random", "search-nwot"]
    assert all(r["seeds"] == [0] and 0.0 <= r["miou_mean"] <= 1.0 for r in rows)
    assert next(r for r in rows if r["label"] == "search-nwot")["search_wall_s"] > 0
    ckpts = list((out / "work" / "jobs").glob("*/final.pt"))
    assert len(ckpts) == 3 and all(p.stat().st_size < 20e6 for p in ckpts)
    assert "search-arch --proxy nwot" in (out / "commands.txt").read_text()
    # a rerun in the same OUT resumes with the fixed recipe and says so if EPOCHS asks for another
    again = subprocess.run(["bash", str(SCRIPT)], check=False, env={**env, "EPOCHS": "2"}, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "holds a recipe of 1 epochs" in again.stderr and "EPOCHS=2 is ignored" in again.stderr
    assert json.loads((out / "recipe.json").read_text())["epochs"] == 1
