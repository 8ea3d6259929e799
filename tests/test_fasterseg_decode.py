"""Genome decoding (FasterSeg rules) and legality on many random genomes."""

from __future__ import annotations

import numpy as np
import pytest

from saswot.errors import InvalidArchError
from saswot.spaces.fasterseg.decode import SpaceConfig, decode, legality_errors, min_length, raw_path
from saswot.spaces.fasterseg.genome import Genome, crossover_genomes, mutate_genome, sample_genome
from saswot.spaces.fasterseg.grid import WIDTH_CHOICES


@pytest.mark.parametrize("space", [SpaceConfig(), SpaceConfig(widths="search"), SpaceConfig(lasts=(2, 0), widths="uniform4")])
def test_random_genomes_decode_to_legal_networks(space: SpaceConfig) -> None:
    rng = np.random.default_rng(0)
    keys = set()
    for _ in range(150):
        arch = decode(sample_genome(rng, with_ratio=space.searches_widths), space)
        assert legality_errors(arch) == []
        for b in arch.branches:
            assert "skip" not in b.ops
            assert min_length(b.last) <= len(b.ops) <= 16
            assert b.path[0] == 0 and b.path[-1] == b.last
            assert all(w in WIDTH_CHOICES for w in b.widths)
        keys.add(arch.key())
    assert len(keys) > 100  # the space is large: random genomes rarely collide


def test_raw_path_entry_bounds() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        g = sample_genome(rng)
        _, beta, _ = g.arrays()
        p2 = raw_path(beta, 2)
        e1, e2 = p2.index(1), p2.index(2)
        assert 3 <= e1 and e1 + 3 <= e2 <= 14
        p1 = raw_path(beta, 1)
        assert 2 <= p1.index(1) <= 13 and max(p1) == 1


def test_many_genomes_one_key() -> None:
    rng = np.random.default_rng(2)
    g = sample_genome(rng)
    alpha, beta, _ = g.arrays()
    scaled = Genome.from_json({"alpha": [(a * 3.0).tolist() for a in alpha], "beta": [(b * 1.0).tolist() for b in beta]})
    assert scaled != g
    assert decode(scaled, SpaceConfig()).key() == decode(g, SpaceConfig()).key()


def test_genome_json_mutation_crossover() -> None:
    rng = np.random.default_rng(3)
    a, b = sample_genome(rng), sample_genome(rng)
    assert Genome.from_json(a.to_json()) == a
    m = mutate_genome(a, rng)
    changed = sum(x != y for ma, mb in zip(a.alpha + a.beta, m.alpha + m.beta) for x, y in zip(ma, mb))
    assert changed == 1
    c = crossover_genomes(a, b, rng)
    assert (c.alpha, c.beta) in ((a.alpha, b.beta), (b.alpha, a.beta))
    with pytest.raises(InvalidArchError):
        Genome.from_json({"alpha": [[[0.0] * 5]], "beta": []})


def test_min_shared_rule_and_bad_width_policy() -> None:
    rng = np.random.default_rng(4)
    archs = [decode(sample_genome(rng), SpaceConfig()) for _ in range(60)]
    shared = [a.shared_prefix() for a in archs]
    assert any(s < 3 for s in shared) and any(s >= 3 for s in shared)
    for a, s in zip(archs, shared):
        assert bool(legality_errors(a, min_shared=3)) == (s < 3)
    with pytest.raises(InvalidArchError):
        SpaceConfig(widths="uniform5")
    with pytest.raises(InvalidArchError):
        SpaceConfig(lasts=(2, 2))
