"""Time the commands that should answer at once: --help, `spaces`, `bench info`, option errors.

Each invocation runs in a fresh ``saswot`` process (the installed entry point) ``--repeat`` times;
the median wall time is reported with the 1-minute load average at the start, so a figure from a
busy machine can be told from an idle one. Writes a JSON and prints a markdown table.

Usage: SASWOT_DATA=../shared/data python benchmarks/bench_startup.py --out benchmarks/out/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

INVOCATIONS = [
    ["--help"],
    ["spaces"],
    ["rank", "--help"],
    ["score", "--help"],
    ["search-arch", "--help"],
    ["train", "--help"],
    ["fps", "--help"],
    ["bench", "info", "--space", "micro"],
    ["bench", "info", "--space", "macro", "--arch", "64-1242-basic"],
    ["rank", "--space", "nospace", "--proxies", "nwot", "--out", "{tmp}/r.json"],
    ["rank", "--space", "micro", "--proxies", "nope", "--out", "{tmp}/r.json"],
    ["score", "pkg:build", "--input-size", "big"],
    ["search-arch", "--proxy", "saswot", "--max-gmacs", "0", "--out", "{tmp}/a.json"],
    ["search-arch", "--proxy", "saswot", "--population", "1", "--max-gmacs", "27.8", "--out", "{tmp}/a.json"],
    ["fps", "tiny", "--resolution", "big"],
    ["bench", "info", "--space", "fasterseg"],
    ["arch-info", "{tmp}/missing.json"],
    ["train", "nosuchmodel", "--dataset", "camvid", "--out", "{tmp}/run"],
    ["minibench", "rank", "--bench", "{tmp}/missing.jsonl", "--proxies", "nwot"],
    ["eval", "{tmp}", "--dataset", "camvid"],
]


def main() -> None:
    """Run every invocation ``--repeat`` times and write the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    exe = shutil.which("saswot") or "saswot"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for inv in INVOCATIONS:
            argv = [a.format(tmp=tmp) for a in inv]
            load = os.getloadavg()[0]
            times, rc = [], None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                proc = subprocess.run([exe, *argv], capture_output=True, text=True)
                times.append(time.perf_counter() - t0)
                rc = proc.returncode
            rows.append({"command": "saswot " + " ".join(inv), "median_s": round(statistics.median(times), 3),
                         "rc": rc, "load_1min": round(load, 2)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "rows": rows},
                                   indent=2))
    print("| command | median wall (s) | exit | load (1 min) |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| `{r['command']}` | {r['median_s']:.2f} | {r['rc']} | {r['load_1min']:.2f} |")


if __name__ == "__main__":
    main()
