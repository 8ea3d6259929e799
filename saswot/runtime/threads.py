"""How many torch CPU threads a saswot command uses.

Order of precedence: an explicit ``--threads N``; else ``OMP_NUM_THREADS`` when the user set it;
else the cores this process may run on minus the machine's current load (1-minute load average),
at least 1. On an idle 2-core machine that is 2 threads; with one busy process beside it, 1. Two
torch threads per process on a 2-core machine that was busy with other work measured 8-15 times
slower than one, because the threads wait for each other at every operation; the load-aware
default avoids that without making an idle machine slower.

Only the command-line entry point applies a thread count for the whole process
(:func:`apply_threads`). A library call that takes a thread count (``TrainConfig.threads``,
``RunContext.threads``) applies it with :func:`torch_threads`, which gives the caller's count back
on exit, so a library user's session keeps its torch settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from saswot.errors import SaswotError

#: The environment variable that, when set, is taken as the user's choice.
ENV_THREADS = "OMP_NUM_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count and why it was chosen.

    Attributes:
        threads: torch intra-op threads.
        reason: ``option``, ``env`` or ``load``.
        cores: cores available to this process.
        load: the 1-minute load average when the choice was made (``None`` where unknown).
    """

    threads: int
    reason: str
    cores: int
    load: float | None

    def describe(self) -> str:
        """One line for a notice, e.g. ``1 torch thread (2 cores, load 1.02)``."""
        plural = "" if self.threads == 1 else "s"
        load = "" if self.load is None else f", load {self.load:.2f}"
        return f"{self.threads} torch thread{plural} ({self.cores} cores{load})"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def choose_threads(
    option: int | None = None,
    environ: dict[str, str] | None = None,
    cores: int | None = None,
    load: float | None = None,
) -> ThreadChoice:
    """Pick the torch thread count (see the module docstring for the order).

    Args:
        option: the value of ``--threads`` (None when not given).
        environ: the environment to read ``OMP_NUM_THREADS`` from (default ``os.environ``).
        cores: cores available (default :func:`available_cores`).
        load: current 1-minute load (default :func:`load_average`).

    Raises:
        SaswotError: ``--threads`` or ``OMP_NUM_THREADS`` is not a positive integer.
    """
    ncores = available_cores() if cores is None else cores
    if option is not None:
        if option < 1:
            raise SaswotError(f"{{threads}} must be at least 1 (got {option})")
        return ThreadChoice(option, "option", ncores, None)
    env = os.environ if environ is None else environ
    text = env.get(ENV_THREADS, "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            raise SaswotError(f"{ENV_THREADS} must be a positive integer (got '{text}'); unset it or fix it") from None
        if value < 1:
            raise SaswotError(f"{ENV_THREADS} must be a positive integer (got '{text}'); unset it or fix it")
        return ThreadChoice(value, "env", ncores, None)
    current = load_average() if load is None else load
    if current is None:
        return ThreadChoice(ncores, "load", ncores, None)
    free = int(ncores - current + 0.5)
    return ThreadChoice(max(1, min(ncores, free)), "load", ncores, current)


def apply_threads(choice: ThreadChoice) -> None:
    """Set torch's intra-op thread count for this process (the CLI entry point calls this)."""
    import torch  # choosing the count (and its errors) needs no torch; setting it does

    torch.set_num_threads(choice.threads)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run a block with ``threads`` torch intra-op threads, then restore the previous count.

    ``None`` (or the count already in force) changes nothing. The previous count is restored
    even when the block raises.

    Raises:
        SaswotError: ``threads`` is not a positive integer.
    """
    import torch

    if threads is not None and threads < 1:
        raise SaswotError(f"threads must be at least 1 (got {threads})")
    previous = torch.get_num_threads()
    if threads is None or threads == previous:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
