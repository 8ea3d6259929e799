"""Markdown table of search-arch outputs joined with LUT/measured latency from the LUT benchmark.

Usage: python benchmarks/fasterseg_results_table.py LUT_JSON ARCH_JSON...
"""

from __future__ import annotations

import json
import sys

from saswot.utils.tables import table_to_markdown


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    lut = json.load(open(sys.argv[1]))
    by_key = {r["key"]: r for r in lut["rows"]}
    rows = []
    for path in sys.argv[2:]:
        d = json.load(open(path))
        s = d["search"]
        lat = by_key.get(d["key"], {})
        rows.append([f"{s['method']} / {s['proxy']}", round(s["score"], 4), round(s["params_m"], 3),
                     round(s["gmacs"], 2), round(lat.get("lut_ms", float("nan")), 0),
                     round(lat.get("measured_ms", float("nan")), 0), s["evaluations"],
                     [len(b["ops"]) for b in d["branches"]], s.get("wall_s", "-")])
    cols = ["search / proxy", "proxy score", "params (M)", "GMACs @1024x2048", "LUT latency (ms)",
            "measured latency (ms)", "evaluations", "cells per branch", "run wall (s)"]
    print(table_to_markdown(cols, rows))


if __name__ == "__main__":
    main()
