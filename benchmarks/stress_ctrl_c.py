"""Ctrl-C stress test of ``saswot rank --workers 2``: one line, exit code 130, in every try.

Each try starts ``saswot rank`` in its own process group with a fresh cache, waits a random time
(seeded; from the start-up to well into the scoring), then sends SIGINT to the whole group, as a
terminal's Ctrl-C does; every other try a second SIGINT follows within 0.3 s (an impatient
user). A try passes when the command exits with 130 and its stderr is exactly the one line
``error: interrupted; ...`` (no traceback). Writes a JSON summary and prints the count.

Usage: SASWOT_DATA=../shared/data python benchmarks/stress_ctrl_c.py --tries 50 --out benchmarks/out/ctrl_c.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

COMMAND = ["rank", "--space", "micro", "--proxies", "nwot,snip", "--archs", "200", "--samples", "2",
           "--sample-size", "10", "--batch-size", "2", "--resolution", "64", "--data", "random", "--quiet",
           "--workers", "2"]


def _default_sigint() -> None:
    """Give the command the default Ctrl-C handling, as a terminal does (a shell's background job
    would otherwise pass SIGINT on ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_try(rng: np.random.Generator, double: bool, tmp: Path, index: int) -> dict:
    """Run the command once, interrupt it, and judge its stderr."""
    exe = shutil.which("saswot") or "saswot"
    argv = [exe, *COMMAND, "--cache", str(tmp / f"cache{index}"), "--out", str(tmp / f"r{index}.json")]
    delay = float(rng.uniform(0.5, 8.0))
    second = float(rng.uniform(0.0, 0.3)) if double else None
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_default_sigint)
    time.sleep(delay)
    sent = proc.poll() is None
    if sent:
        os.killpg(proc.pid, signal.SIGINT)
        if second is not None:
            time.sleep(second)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    lines = [line for line in err.splitlines() if line.strip()]
    ok = (proc.returncode == 130 and len(lines) == 1 and lines[0].startswith("error: interrupted")
          and "Traceback" not in err)
    return {"delay_s": round(delay, 2), "second_s": second, "signalled": sent, "rc": proc.returncode,
            "stderr_lines": len(lines), "ok": ok, "stderr_tail": err[-600:] if not ok else ""}


def main() -> None:
    """Run the tries and write the summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.tries):
            res = one_try(rng, double=i % 2 == 1, tmp=Path(tmp), index=i)
            results.append(res)
            print(f"try {i + 1}: {'ok' if res['ok'] else 'FAIL'} (rc {res['rc']}, {res['stderr_lines']} line(s), "
                  f"SIGINT after {res['delay_s']} s{', twice' if res['second_s'] is not None else ''})", flush=True)
    signalled = [r for r in results if r["signalled"]]
    summary = {"date": time.strftime("%Y-%m-%d"), "command": "saswot " + " ".join(COMMAND),
               "tries": len(results), "signalled": len(signalled), "ok": sum(r["ok"] for r in signalled),
               "load_1min_end": round(os.getloadavg()[0], 2), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"{summary['ok']} of {summary['signalled']} interrupted tries printed one line and exited with 130")


if __name__ == "__main__":
    main()
