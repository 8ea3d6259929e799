"""Backward-compatible home of the TransNAS-Bench-101 benchmark lookup (now :mod:`saswot.tnb101.benchmark`).

New code resolves ground truth through its search space: ``saswot.spaces.get_space(name).benchmark()``.
"""

from saswot.tnb101.benchmark import DEFAULT_TASK, TNB_TASKS, TNBBenchmark

__all__ = ["DEFAULT_TASK", "TNB_TASKS", "TNBBenchmark"]
