"""Figures are written without changing matplotlib's global state (backend, pyplot figures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_plots_leave_backend_and_pyplot_alone(tmp_path: Path) -> None:
    code = f"""
import sys
import matplotlib
matplotlib.use("svg")
from saswot.utils.plots import plot_search_curves, proxy_scatter_plots
hist = [{{"evaluations": 1, "best_fitness": 0.1}}, {{"evaluations": 4, "best_fitness": 0.3}}]
a = plot_search_curves({{"evolution": hist}}, r"{tmp_path}/curve.png", title="t")
b = plot_search_curves([("random", hist)], r"{tmp_path}/curve2.png")
c = proxy_scatter_plots({{"nwot": [1.0, 2.0, -1e8]}}, [3.0, 2.0, 1.0], r"{tmp_path}/plots", sentinel=-1e8)
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["svg", "False"]
    for name in ("curve.png", "curve2.png", "plots/nwot.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
