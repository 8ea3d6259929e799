"""Explicit, local random state.

saswot never seeds global generators behind the caller's back: library code takes a
``numpy.random.Generator`` or a seed. Where PyTorch's global RNG must be used (module
initialisers), :func:`torch_seed` forks it so the caller's RNG state is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def make_rng(seed: int) -> np.random.Generator:
    """A numpy Generator (PCG64) for ``seed``."""
    return np.random.default_rng(seed)


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch.Generator seeded with ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@contextmanager
def torch_seed(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded to ``seed``, restoring the previous state after.

    Use it around module construction (``nn.init`` draws from the global RNG) so that the same
    seed gives the same weights and the caller's random state is left untouched.
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield
