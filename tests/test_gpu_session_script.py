"""CPU smoke test of benchmarks/gpu_session.sh (the one prepared GPU command) at a tiny setting.

Synthetic CamVid at 64×64, the searches reused from the shipped CPU-scale table (nwot only), the
epochs fitted by the timing run (EPOCHS=auto), speed at 64×64 in fp32 on the CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_session.sh"


def test_gpu_session_script_trains_times_and_packs_on_cpu(tiny_setup, tmp_path: Path) -> None:
    root = tiny_setup(tmp_path, amp=False)
    ret, work = tmp_path / "ret", tmp_path / "work"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "SASWOT_DATA": str(root), "OMP_NUM_THREADS": "1", "OUT": str(ret), "WORK": str(work),
           "DEVICE": "cpu", "PRECISION": "fp32", "RESOLUTIONS": "64x64", "SEEDS": "0", "PROXIES": "nwot",
           "EPOCHS": "auto", "TRAIN_BUDGET_S": "20", "TRAIN_TIMEOUT_S": "300", "PARALLEL": "2", "WORKERS": "0",
           "RECIPE": str(tmp_path / "recipe.json"), "WHEELS": str(tmp_path / "no-wheels")}
    env.pop("SASWOT_CACHE", None)
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=REPO, check=False, env=env, capture_output=True, text=True,
                          timeout=600)
    log = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, log

    # the searches were reused, not run; the epochs were fitted from two concurrent timing trainings
    commands = (work / "commands.txt").read_text()
    assert "searches reused from saswot/data/fasterseg/table4-cpu" in commands
    assert "search-arch" not in commands
    assert "concurrent second epochs" in proc.stdout
    assert json.loads((work / "recipe.json").read_text())["epochs"] >= 1

    rows = json.loads((work / "results.json").read_text())["rows"]
    assert sorted(r["label"] for r in rows) == ["fasterseg", "random", "search-nwot"]
    speed = json.loads((work / "speed.json").read_text())
    assert sorted(r["label"] for r in speed["rows"]) == ["fasterseg", "random", "search-nwot"]
    assert all(r["resolution"] == [64, 64] and r["fps"] > 0 and r["fp32_lut_ms"] > 0 and r["fp32_e2e_ms"] > 0
               for r in speed["rows"])
    assert (work / "speed.md").read_text().count("| 64x64 |") == 3
    assert json.loads((work / "fps-cli-64x64.json").read_text())["fps"] > 0
    assert json.loads((work / "fps-cli-long-64x64.json").read_text())["runs"] == 300

    # what comes back: one checkpoint per label, the bundle (no checkpoints in it) and the log
    back = sorted(p.name for p in ret.iterdir())
    assert back == ["bundle.tar.gz", "fasterseg-seed0.pt", "random-seed0.pt", "search-nwot-seed0.pt", "session.log"]
    with tarfile.open(ret / "bundle.tar.gz") as tar:
        names = tar.getnames()
    assert any(n.endswith("table4.jsonl") for n in names) and any(n.endswith("speed.json") for n in names)
    assert not any(n.endswith(".pt") for n in names)
