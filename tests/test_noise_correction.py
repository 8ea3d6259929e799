"""The noise-corrected Kendall of the FasterSeg ranking benchmarks recovers a known ranking quality.

Synthetic ground truth with a known answer: every network has a true quality q; each training seed
measures q plus independent noise; a ranker predicts q plus its own error. The Kendall τ of the
ranker against the noise-free q is then known (τ = 2/π·asin ρ of the bivariate normal), and the
benchmarks' correction, which sees only the two noisy seeds, must recover it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from fasterseg_models_loso import noise_corrected
from heldout_predictors import k_seed_noise, noise_free_kendall, reliability_resamples

SEED_SD = math.sqrt(0.8)  # one seed's reliability 1 / 1.8
ERROR_SD = 0.5  # the ranker's correlation with q: 1 / sqrt(1.25)


def _samples(n_samples: int, n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    seeds, good, perfect = [], [], []
    for _ in range(n_samples):
        q = rng.normal(size=n)
        seeds.append(np.stack([q + SEED_SD * rng.normal(size=n), q + SEED_SD * rng.normal(size=n)], axis=1))
        good.append(q + ERROR_SD * rng.normal(size=n))
        perfect.append(q)
    return seeds, good, perfect


def test_the_loso_correction_recovers_the_kendall_against_noise_free_labels() -> None:
    seeds, good, perfect = _samples(40, 100, seed=0)
    out = noise_corrected({"good": good, "perfect": perfect}, seeds, boot=20, seed=0)
    truth = 2 / math.pi * math.asin(1 / math.sqrt(1 + ERROR_SD**2))
    assert out["reliability_one_seed"] == pytest.approx(1 / 1.8, abs=0.04)
    m = out["models"]
    # against the noisy two-seed means the ranker looks clearly worse than it is ...
    assert m["good"]["kendall_mean"] < truth - 0.08
    # ... and the correction brings it back to its noise-free value, inside its own interval
    assert m["good"]["kendall_noise_free"] == pytest.approx(truth, abs=0.03)
    lo, hi = m["good"]["kendall_noise_free_ci95"]
    assert lo < m["good"]["kendall_noise_free"] < hi
    # the noise model's own check: the Kendall against one seed, predicted from the corrected figure
    assert m["good"]["kendall_one_seed_predicted"] == pytest.approx(m["good"]["kendall_one_seed"], abs=0.03)
    # a ranker that knows q is at the ceiling of the labels, and corrected it is (near) perfect
    assert m["perfect"]["kendall_mean"] == pytest.approx(out["ceiling_two_seed_mean"], abs=0.03)
    assert m["perfect"]["kendall_noise_free"] > 0.95


def test_the_reliability_can_come_from_other_networks() -> None:
    seeds, _, _ = _samples(1, 40, seed=1)
    ref, _, _ = _samples(1, 2000, seed=2)
    own = reliability_resamples(seeds[0], seed=0, n=50)
    other = reliability_resamples(seeds[0], seed=0, n=50, reference=ref[0])
    # the same resamples of the held-out networks either way; the reliability of the reference is
    # estimated from 2000 networks, so it varies far less between resamples than 40 networks' own
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(own, other))
    assert np.std([r for _, r in other]) < np.std([r for _, r in own]) / 2
    assert np.mean([r for _, r in other]) == pytest.approx(k_seed_noise(ref[0])["reliability_k_seed_mean"], abs=0.02)


def test_no_reliability_gives_no_corrected_figure() -> None:
    assert math.isnan(noise_free_kendall(0.5, 0.0))
    assert noise_free_kendall(0.5, 1.0) == pytest.approx(0.5)
