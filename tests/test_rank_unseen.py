"""Discovered proxies are judged only on the architectures not used to search or validate them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from saswot.proxies import REGISTRY
from saswot.workflows.rank import rank_result, table_rows
from saswot.workflows.score import ArchScores


def test_excluded_archs_are_left_out_of_that_proxy_only() -> None:
    rng = np.random.default_rng(0)
    keys = [f"a{i}" for i in range(12)]
    truth = {k: float(i) for i, k in enumerate(keys)}
    used = set(keys[:6])
    # 'found' ranks the archs it was chosen on perfectly and the unseen ones in reverse
    found = {k: (truth[k] if k in used else -truth[k]) for k in keys}
    noise = {k: float(rng.normal()) for k in keys}
    per_arch = {k: ArchScores({"found": found[k], "noise": noise[k]}, {}) for k in keys}
    res = rank_result(per_arch, truth, ["noise", "found"], space="micro", task="t", config={}, samples=3,
                      sample_size=6, seed=0, exclude={"found": used})
    assert res["archs_per_proxy"] == {"noise": 12, "found": 6}
    assert res["correlation"]["found"]["kendall"]["mean"] == pytest.approx(-1.0)  # judged on unseen archs only
    full = kendalltau([found[k] for k in keys], [truth[k] for k in keys]).statistic
    assert full > -1.0  # with the search archs in, it would have looked better
    columns, rows = table_rows(res)
    assert columns[4] == "archs" and [r[4] for r in rows] == [12, 6]
    assert list(res["correlation"]) == ["noise", "found"]


def test_shipped_discovered_proxies_carry_their_search_and_validation_archs() -> None:
    for space in ("micro", "macro"):
        for name in (f"auto-{space}", f"auto-{space}+nwot"):
            chosen = REGISTRY.get(name).chosen_on
            assert chosen is not None and chosen[0] == space and len(chosen[1]) == 150  # 50 search + 100 val
    assert REGISTRY.get("nwot").chosen_on is None
