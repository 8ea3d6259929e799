"""A corrupt score-cache entry is scored again (with a warning), never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from saswot.proxies import resolve_proxies
from saswot.config import ProxyBatch
from saswot.workflows.score import ScoreCache, score_architectures
from _tiny_nets import tiny_model

SETTINGS = ProxyBatch(batch_size=2, resolution=(16, 16), data="random", num_classes=5)


def _build(arch: str) -> object:
    return tiny_model(seed=int(arch))


@pytest.mark.parametrize("content", ["{ not json", "[1, 2]", '{"arch": "0", "scores": {"params": "oops"}}', ""])
def test_a_corrupt_entry_is_recomputed_with_a_warning(tmp_path: Path, content: str) -> None:
    notes: list[str] = []
    cache = ScoreCache(tmp_path, "toy", SETTINGS, on_note=notes.append)
    specs = resolve_proxies("params,nwot")
    first = score_architectures(["0", "1"], specs, SETTINGS, _build, key=str, cache=cache, progress=False)
    entry = cache._path("0")
    entry.write_text(content)
    again = score_architectures(["0", "1"], specs, SETTINGS, _build, key=str, cache=cache, progress=False)
    assert again["0"].scores == first["0"].scores
    assert again["0"].seconds is not None and again["1"].seconds is None  # only the corrupt one was scored
    assert len(notes) == 1 and "corrupt score cache entry" in notes[0] and "scoring it again" in notes[0]
    assert set(cache.get("0")) == set(first["0"].scores)  # rewritten whole


def test_the_default_warning_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = ScoreCache(tmp_path, "toy", SETTINGS)
    cache.put("0", {"params": 1.0})
    cache._path("0").write_text("{")
    assert cache.get("0") == {}
    assert capsys.readouterr().err.startswith("warning: corrupt score cache entry")
