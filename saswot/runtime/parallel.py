"""Executors for the scoring loops: in this process, in local worker processes, or on Ray.

Every scoring loop of saswot (``rank``, ``avt-calibrate``, the statistics of ``search-proxy``,
the population of ``search-arch``) scores architectures independently of each other. Each loop
writes its per-architecture work as one picklable *task function* ``fn(shared, item)`` and asks
an :class:`Executor` to map it over the items; the executor yields one :class:`TaskOutcome` per
item, in completion order. The driver (the calling process) keeps every side effect: it writes
caches, checkpoints and progress, so a cache entry is written once, atomically, by one process.

Three executors share that interface:

* :class:`SerialExecutor` runs the tasks in this process, in order (the default everywhere);
* :class:`LocalExecutor` runs them in ``workers`` local processes (``concurrent.futures``
  with the ``spawn`` start method), each pinned to ``threads`` torch threads;
* :class:`RayExecutor` runs them as Ray tasks on a Ray cluster (or a local Ray instance it
  starts); Ray is the optional extra ``saswot[ray]``.

Results do not depend on the executor as long as the task is a function of ``(shared, item)``
alone and each process uses the same number of torch threads: CPU kernels split their
reductions by thread, so a run with 2 threads per process and one with 1 thread per process
can differ in the last bits of a score (see ``docs/results.md``).

Faults: a worker process that dies (killed, out of memory) while running a task loses that task
only. The task is run once more; if its worker dies again the item is reported as failed, with
the reason, and the map goes on. With local processes, which worker held which task is not
known when the pool breaks, so every task that was in flight is retried *alone* (one task in
flight): a second death then names the task that caused it, and the others are not blamed.
An exception raised by the task function itself is not a fault of the worker: it is re-raised in
the driver, as the serial loop would raise it. On ``KeyboardInterrupt`` (or any exception) in
the driver the pending tasks are cancelled and the worker processes stopped; the caller's
cache holds every result received before.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import sys
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch

from saswot.errors import SaswotError
from saswot.runtime.allocator import tune_malloc
from saswot.runtime.fdsharing import install_quiet_hooks

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

#: How the result JSON files name the executors.
KINDS = ("serial", "local", "ray")

#: Value of ``--ray`` (and of ``address``) that starts a local Ray instance.
LOCAL_RAY = "local"

#: Reason recorded for an item whose worker died on both attempts.
DIED_TWICE = "worker process died twice while running this task (killed or out of memory)"


@dataclass(frozen=True)
class TaskOutcome(Generic[R]):
    """What one task gave.

    Attributes:
        index: position of the item in the sequence given to :meth:`Executor.map`.
        value: the task's return value (None when ``error`` is set).
        error: why the item failed after its retry (its worker died twice), else None.
        seconds: wall time of the task function in the worker (0.0 when it failed).
    """

    index: int
    value: R | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        """True when the task returned a value."""
        return self.error is None


def timed_call(fn: Callable[[S, T], R], shared: S, item: T) -> tuple[R, float]:
    """Run ``fn(shared, item)`` and return ``(value, seconds)`` (runs inside a worker)."""
    t0 = time.perf_counter()
    value = fn(shared, item)
    return value, time.perf_counter() - t0


def default_threads(workers: int) -> int:
    """Torch threads per worker: the CPUs of this machine shared among ``workers`` (at least 1)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus // max(1, workers))


def check_picklable(obj: Any, what: str) -> None:
    """Raise a clear :class:`SaswotError` if ``obj`` cannot be sent to a worker process."""
    try:
        pickle.dumps(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise SaswotError(
            f"{what} cannot be sent to worker processes ({exc}); use module-level functions or "
            "functools.partial instead of lambdas and closures, or run without {workers}"
        ) from exc


class Executor(ABC):
    """Maps a task function over items (see the module doc); use it as a context manager."""

    #: One of :data:`KINDS`.
    kind: str = "serial"

    @property
    @abstractmethod
    def workers(self) -> int:
        """Tasks run at the same time."""

    @abstractmethod
    def map(
        self, fn: Callable[[S, T], R], shared: S, items: Sequence[T], *, recycle: int | None = None
    ) -> Iterator[TaskOutcome[R]]:
        """Run ``fn(shared, item)`` for every item; yield outcomes as they complete.

        Args:
            fn: a module-level (picklable) function of ``(shared, item)``.
            shared: what every task reads (settings, batch, proxies); sent once per task or per
                worker, never modified.
            items: the work, one task per item.
            recycle: replace a worker process after it ran this many tasks (bounds the memory
                of a task that leaks); None keeps workers for the whole map.
        """

    def describe(self) -> dict[str, Any]:
        """JSON summary for result files: kind and worker count (and backend details)."""
        return {"kind": self.kind, "workers": self.workers}

    def close(self) -> None:  # noqa: B027 - a no-op default, not abstract: serial executors hold nothing
        """Release the workers (the executor can no longer be used)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs the tasks in this process, in order (no pickling, no retry)."""

    kind = "serial"

    @property
    def workers(self) -> int:
        return 1

    def map(
        self, fn: Callable[[S, T], R], shared: S, items: Sequence[T], *, recycle: int | None = None
    ) -> Iterator[TaskOutcome[R]]:
        for i, item in enumerate(items):
            value, seconds = timed_call(fn, shared, item)
            yield TaskOutcome(i, value, None, seconds)

    def describe(self) -> dict[str, Any]:

        return {"kind": self.kind, "workers": 1, "threads_per_worker": torch.get_num_threads()}


def _init_local_worker(threads: int) -> None:
    """Initializer of a local worker process: pin torch threads, leave Ctrl-C to the driver."""
    # A worker process that saswot starts itself is not the caller's process: setting its
    # signal handling, thread count and malloc tuning for good is fine here, and the caller's
    # process is left alone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    install_quiet_hooks()  # this process serves shared tensors too: its sharing thread's errors are harmless

    torch.set_num_threads(threads)
    tune_malloc()


class LocalExecutor(Executor):
    """Runs the tasks in ``workers`` local processes (``spawn``), ``threads`` torch threads each.

    Args:
        workers: number of processes (>= 1).
        threads: torch threads per process (default: this machine's CPUs / ``workers``).
    """

    kind = "local"

    def __init__(self, workers: int, threads: int | None = None) -> None:
        if workers < 1:
            raise SaswotError(f"{{workers}} must be >= 1 (got {workers})")
        self._workers = int(workers)
        self.threads = int(threads) if threads is not None else default_threads(workers)
        if self.threads < 1:
            raise SaswotError(f"threads per worker must be >= 1 (got {self.threads})")
        self._pool: ProcessPoolExecutor | None = None
        self._recycle: int | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self._workers, "threads_per_worker": self.threads}

    def _get_pool(self, recycle: int | None) -> ProcessPoolExecutor:
        if self._pool is not None and self._recycle != recycle:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._pool is None:
            kwargs: dict[str, Any] = {}
            if recycle is not None and sys.version_info >= (3, 11):  # not available before 3.11
                kwargs["max_tasks_per_child"] = int(recycle)
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=mp.get_context("spawn"),
                initializer=_init_local_worker,
                initargs=(self.threads,),
                **kwargs,
            )
            self._recycle = recycle
        return self._pool

    def _kill_pool(self) -> None:
        """Stop the worker processes now (running tasks are abandoned)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # concurrent.futures has no public way to stop running tasks before Python 3.14
        terminate = getattr(pool, "terminate_workers", None)
        if terminate is not None:
            terminate()
        else:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                if proc.is_alive():
                    proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)

    def map(
        self, fn: Callable[[S, T], R], shared: S, items: Sequence[T], *, recycle: int | None = None
    ) -> Iterator[TaskOutcome[R]]:
        if not items:
            return
        check_picklable((fn, shared), "the scoring task")
        attempts = [0] * len(items)
        queue: deque[int] = deque(range(len(items)))
        alone: deque[int] = deque()  # in flight when a worker died: retried one at a time
        running: dict[Future, int] = {}
        finished = False

        def submit(pool: ProcessPoolExecutor, i: int) -> bool:
            """Start item ``i``; False if the pool broke first (a worker died since the last check)."""
            try:
                running[pool.submit(timed_call, fn, shared, items[i])] = i
            except BrokenProcessPool:
                return False
            attempts[i] += 1
            return True

        try:
            while queue or alone or running:
                pool = self._get_pool(recycle)
                broken = False
                if alone:
                    if not running:
                        i = alone.popleft()
                        if not submit(pool, i):
                            alone.appendleft(i)  # never started: not an attempt
                            broken = True
                else:
                    while queue and len(running) < self._workers:
                        i = queue.popleft()
                        if not submit(pool, i):
                            queue.appendleft(i)
                            broken = True
                            break
                # a broken pool fails every pending task at once, so waiting for all is short
                done, _ = wait(list(running), return_when=ALL_COMPLETED if broken else FIRST_COMPLETED)
                lost: list[int] = []
                for fut in done:
                    i = running.pop(fut)
                    try:
                        value, seconds = fut.result()
                    except BrokenProcessPool:
                        lost.append(i)
                        continue
                    yield TaskOutcome(i, value, None, seconds)
                if lost or broken:
                    lost.extend(running.values())
                    running.clear()
                    self._kill_pool()
                    for i in sorted(lost):
                        if attempts[i] >= 2:
                            yield TaskOutcome(i, None, DIED_TWICE, 0.0)
                        else:
                            alone.append(i)
            finished = True
        finally:
            if not finished:
                for fut in running:
                    fut.cancel()
                self._kill_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def import_ray() -> Any:
    """The ``ray`` module, or a clear error naming the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise SaswotError('{ray} needs Ray, which is not installed: pip install "saswot[ray]"') from exc
    return ray


def _ray_task(fn: Callable[[S, T], R], shared: S, item: T, threads: int) -> tuple[R, float]:
    """Body of a Ray task: pin torch threads, then :func:`timed_call`."""
    # A Ray task runs in a Ray worker process, not in the caller's process, so the thread count
    # and malloc tuning set here change only that worker.

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    tune_malloc()
    return timed_call(fn, shared, item)


class RayExecutor(Executor):
    """Runs the tasks as Ray tasks (``num_cpus=threads`` each, retried once on worker death).

    If Ray is already initialised in this process (e.g. by the caller), that connection is used
    and left open on :meth:`close`. Otherwise ``address`` selects the cluster
    (``"local"``/None: start a local Ray instance with ``num_cpus`` CPUs; else an address such as
    ``"auto"`` or ``"ray://head:10001"``), and :meth:`close` disconnects (stopping the local
    instance). Every node needs saswot installed in the same Python version.

    Args:
        address: cluster address, or ``"local"``/None.
        num_cpus: CPUs of a local instance (default: all of this machine's).
        threads: torch threads (and Ray CPUs) per task.
        max_in_flight: tasks run at once (default: cluster CPUs / ``threads``); twice as many
            are kept submitted.
    """

    kind = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        threads: int = 1,
        max_in_flight: int | None = None,
    ) -> None:
        ray = import_ray()
        if threads < 1:
            raise SaswotError(f"threads per Ray task must be >= 1 (got {threads})")
        self._ray = ray
        self.threads = int(threads)
        self.address = address or LOCAL_RAY
        self._owns = False
        if not ray.is_initialized():
            if self.address == LOCAL_RAY:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
            else:
                try:
                    ray.init(address=self.address, log_to_driver=False, configure_logging=False)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise SaswotError(
                        f"cannot connect to the Ray cluster at '{self.address}' ({exc}); "
                        "check the address, or give {ray} alone to start a local instance"
                    ) from exc
            self._owns = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self._workers = int(max_in_flight) if max_in_flight else max(1, cpus // self.threads)
        # twice the tasks that can run: a worker finds its next task waiting when it finishes one
        self._in_flight = 2 * self._workers
        self._cpus = cpus

    @property
    def workers(self) -> int:
        return self._workers

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "workers": self._workers,
            "threads_per_worker": self.threads,
            "address": self.address,
            "cluster_cpus": self._cpus,
            "ray_version": self._ray.__version__,
        }

    def _failure_types(self) -> tuple[type[BaseException], ...]:
        exc = self._ray.exceptions
        names = ("WorkerCrashedError", "OutOfMemoryError", "NodeDiedError", "LocalRayletDiedError")
        return tuple(getattr(exc, n) for n in names if hasattr(exc, n))

    def map(
        self, fn: Callable[[S, T], R], shared: S, items: Sequence[T], *, recycle: int | None = None
    ) -> Iterator[TaskOutcome[R]]:
        if not items:
            return
        ray = self._ray
        options: dict[str, Any] = {"num_cpus": self.threads, "max_retries": 1, "retry_exceptions": False}
        if recycle is not None:
            options["max_calls"] = int(recycle)
        remote = ray.remote(_ray_task).options(**options)
        shared_ref = ray.put(shared)
        died = self._failure_types()
        queue: deque[int] = deque(range(len(items)))
        pending: dict[Any, int] = {}
        finished = False
        try:
            while queue or pending:
                while queue and len(pending) < self._in_flight:
                    i = queue.popleft()
                    pending[remote.remote(fn, shared_ref, items[i], self.threads)] = i
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    i = pending.pop(ref)
                    try:
                        value, seconds = ray.get(ref)
                    except died as exc:
                        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                        yield TaskOutcome(i, None, f"{DIED_TWICE}: {type(exc).__name__}: {reason}"[:500], 0.0)
                        continue
                    except ray.exceptions.RayTaskError as exc:
                        raise exc.as_instanceof_cause() from None
                    yield TaskOutcome(i, value, None, seconds)
            finished = True
        finally:
            if not finished:
                for ref in pending:
                    try:
                        ray.cancel(ref, force=True)
                    except (ray.exceptions.RayError, ValueError, TypeError):
                        pass  # best effort while stopping: the task may have finished meanwhile

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
            self._owns = False


def make_executor(workers: int | None = None, ray: str | None = None, *, threads: int | None = None) -> Executor:
    """The executor chosen by the ``--workers N`` / ``--ray [ADDRESS]`` options.

    Args:
        workers: local worker processes (None or 0: serial); with ``ray``, the CPUs of a local
            Ray instance (and the tasks kept in flight).
        ray: None (no Ray), ``"local"`` (start a local Ray instance) or a cluster address.
        threads: torch threads per worker (default: CPUs / workers locally, 1 on Ray).

    Raises:
        SaswotError: bad values, or ``ray`` given without the Ray extra installed.
    """
    if workers is not None and workers < 0:
        raise SaswotError(f"{{workers}} must be >= 0 (got {workers})")
    if ray is not None:
        address = ray.strip() or LOCAL_RAY
        local = address == LOCAL_RAY
        return RayExecutor(
            address, num_cpus=(workers or None) if local else None, threads=threads or 1, max_in_flight=workers or None
        )
    if workers:
        return LocalExecutor(workers, threads)
    return SerialExecutor()


__all__ = [
    "DIED_TWICE",
    "LOCAL_RAY",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "SerialExecutor",
    "TaskOutcome",
    "check_picklable",
    "default_threads",
    "import_ray",
    "make_executor",
    "timed_call",
]
