"""Compare two outputs of ``benchmarks/bitident_check.sh``: every rank score and the search-arch result.

    python benchmarks/bitident_compare.py BEFORE_DIR AFTER_DIR

Scores are compared with ``==`` (bit-identical); of the search, everything but wall-clock fields
(``elapsed_s``, ``wall_s``, ``timing``, ``timing_s``, the curve path) must be equal. Exit code 1 on any difference.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CLOCK = {"elapsed_s", "wall_s", "timing", "timing_s", "curve"}


def strip_clock(x: Any) -> Any:
    """``x`` without wall-clock fields."""
    if isinstance(x, dict):
        return {k: strip_clock(v) for k, v in x.items() if k not in CLOCK}
    if isinstance(x, list):
        return [strip_clock(v) for v in x]
    return x


def main(before: Path, after: Path) -> int:
    bad = 0
    for space in ("micro", "macro"):
        a = json.loads((before / f"rank-{space}.json").read_text())
        b = json.loads((after / f"rank-{space}.json").read_text())
        values = [(k, p, x, b["archs"].get(k, {}).get("scores", {}).get(p)) for k, v in a["archs"].items()
                  for p, x in v["scores"].items()]
        differ = [v for v in values if v[2] != v[3]]
        same_corr = a["correlation"] == b["correlation"]
        print(f"rank {space}: {len(a['archs'])} archs x {len(a['correlation'])} proxies = {len(values)} scores, "
              f"{len(differ)} differ; correlations equal: {same_corr}")
        bad += len(differ) + (not same_corr)
    for name in ("arch.json", "arch.ckpt.json", "arch.avt.json"):
        same = strip_clock(json.loads((before / name).read_text())) == strip_clock(json.loads((after / name).read_text()))
        print(f"search-arch {name}: equal apart from wall-clock fields: {same}")
        bad += not same
    for name in ("proxy.json", "proxy.ckpt.json"):
        if not (before / name).exists():
            continue
        same = strip_clock(json.loads((before / name).read_text())) == strip_clock(json.loads((after / name).read_text()))
        print(f"search-proxy {name}: equal apart from wall-clock fields: {same}")
        bad += not same
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1].startswith("-"):
        sys.exit("usage: python benchmarks/bitident_compare.py BEFORE_DIR AFTER_DIR (outputs of bitident_check.sh)")
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
