"""The one AVT normalisation: same formula and the same error on an empty range everywhere."""

from __future__ import annotations

import pytest

from saswot.proxies._proxyfile import _avt
from saswot.errors import ScoreError
from saswot.proxies._avt import AVTStats, avt_normalise, avt_scale


def test_formula_not_clipped() -> None:
    assert avt_scale(5.0, 0.0, 10.0, "x") == 0.5
    assert avt_scale(15.0, 0.0, 10.0, "x") == 1.5  # out of the calibration range: kept, not clipped
    assert avt_normalise(2.0, "nwot", AVTStats({"nwot": (1.0, 3.0)})) == 0.5
    assert _avt(2.0, {"min": 1.0, "max": 3.0}, "expression") == 0.5


@pytest.mark.parametrize("call", [
    lambda: avt_scale(1.0, 2.0, 2.0, "nwot"),
    lambda: avt_normalise(1.0, "nwot", AVTStats({"nwot": (2.0, 2.0)})),
    lambda: _avt(1.0, {"min": 2.0, "max": 2.0}, "nwot"),
])
def test_empty_range_is_the_same_error_everywhere(call) -> None:
    with pytest.raises(ScoreError, match="the AVT range of 'nwot' is empty"):
        call()
