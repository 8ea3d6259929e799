"""Time the README's main job at its default settings, on an idle machine and beside a busy loop.

Runs ``saswot search-arch --max-gmacs 27.8`` (the README's first command after the
install; ``--proxy NAME`` times the search with that objective instead, e.g. ``saswot``, the
README's main job before ``predictor:camvid`` became the default) in a fresh process with a fresh cache folder and no dataset, once as it is and once
while a pure-Python busy loop occupies one core (a 2-core machine "with other work running").
No ``--threads`` and no ``OMP_NUM_THREADS``: the default thread choice is what is measured.
Writes a JSON (wall time, threads chosen, load average, the architecture found) and a markdown
table; both runs must find the same architecture.

Usage: python benchmarks/bench_main_job.py --out benchmarks/out/main_job.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = ["search-arch", "--max-gmacs", "27.8", "--quiet"]


def run_once(label: str, busy: bool, workdir: Path, command: list[str]) -> dict:
    """Run the main job once; with ``busy``, beside a busy loop on one core."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "SASWOT_DATA")}
    env["SASWOT_CACHE"] = str(workdir / f"cache-{label}")
    out = workdir / f"arch-{label}.json"
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        if hog is not None:
            time.sleep(20)  # let the load average see the busy loop, as a user's machine would
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "saswot", *command, "--out", str(out)], env=env,
                             cwd=workdir, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    if res.returncode != 0:
        raise SystemExit(f"{label}: the main job failed:\n{res.stderr}")
    doc = json.loads(out.read_text())
    return {"label": label, "busy_loop": busy, "wall_s": round(wall, 1), "load_1min_at_start": round(load, 2),
            "arch_key": doc["search"]["top"][0]["key"], "gmacs": doc["search"]["gmacs"],
            "score": doc["search"]["score"], "torch_threads": doc["search"]["torch_threads"],
            "cores": len(os.sched_getaffinity(0))}


def main() -> None:
    """Run both settings and write the JSON and markdown results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--proxy", default=None, help="objective to search with (default: the space's default)")
    args = ap.parse_args()
    command = COMMAND + (["--proxy", args.proxy] if args.proxy else [])
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_once("idle", False, Path(tmp), command), run_once("busy", True, Path(tmp), command)]
    same = rows[0]["arch_key"] == rows[1]["arch_key"]
    result = {"command": "saswot " + " ".join(command) + " --out ...", "runs": rows, "same_architecture": same,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    table = ["| run | wall | load at start | torch threads | GMACs | same arch |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        table.append(f"| {r['label']} | {r['wall_s']:.0f} s | {r['load_1min_at_start']:.2f} | {r['torch_threads']} | "
                     f"{r['gmacs']:.2f} | {same} |")
    args.out.with_suffix(".md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
