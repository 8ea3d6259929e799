"""An ensemble with a discovered member is judged on the architectures none of its members saw; the
table says why a proxy was judged on fewer architectures."""

from __future__ import annotations

from saswot.proxies import REGISTRY
from saswot.proxies._ensemble import parse_ensemble
from saswot.workflows.rank import ensemble_exclusions, judged_on_notes, rank_result
from saswot.workflows.score import ArchScores


def test_an_ensemble_with_a_discovered_member_leaves_its_archs_out() -> None:
    used = REGISTRY.get("auto-micro").chosen_on[1]
    chosen = {"auto-micro": used}
    ens = [parse_ensemble("ensemble:nwot,auto-micro"), parse_ensemble("ensemble:nwot,flops")]
    out = ensemble_exclusions(ens, chosen)
    assert out == {ens[0].name: sorted(used)}  # the one without a discovered member is judged on all


def test_fewer_archs_get_a_footnote() -> None:
    keys = [f"a{i}" for i in range(10)]
    truth = {k: float(i) for i, k in enumerate(keys)}
    per_arch = {k: ArchScores({"p": float(i), "e": float(-i)}, {}) for i, k in enumerate(keys)}
    res = rank_result(per_arch, truth, ["p", "e"], space="micro", task="t", config={}, samples=2, sample_size=4,
                      seed=0, exclude={"e": set(keys[:3])})
    notes = judged_on_notes(res)
    assert len(notes) == 1 and notes[0].startswith("e: judged on 7 of 10 architectures; the 3 used to search")
