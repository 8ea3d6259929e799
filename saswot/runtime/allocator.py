"""Process-level tuning of glibc's ``malloc`` for jobs that score many networks in one process.

Scoring a TransNAS-Bench-101 network allocates and frees hundreds of MB of weight-sized tensors
(gradients, |W|, Gaussian re-initialisations, float64 copies). With glibc's defaults every large
block is handed back to the kernel when freed (``mmap`` for blocks above a dynamic threshold,
heap trimming for the rest), so the next network's tensors land on fresh pages and pay a page
fault per 4 KiB: in a full ``saswot rank --proxies all`` over the 504 micro archs that was
94.7 M minor faults and 204 s of system time out of 1133 s of CPU time. Raising the ``mmap``
threshold to its maximum (32 MiB) and the trim threshold to 1 GiB keeps freed memory in the
process for reuse; this is the same as setting ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` in the environment. The cost is a resident set that stays near its
peak instead of shrinking between networks.

Only entry points call :func:`tune_malloc`: the command-line entry point once, and the worker
processes that saswot starts itself (:mod:`saswot.runtime.parallel`), which are not the caller's process.
Library functions never call it in the caller's process; a library user may call it (it changes
this process for good) or not. On systems without glibc it does nothing.

The same kind of jobs also pay for Python's cyclic garbage collector: the imported libraries and
a loaded benchmark table keep about 385,000 Python objects alive in a ``saswot rank`` process, and
every full collection scans them all (160 ms on the development CPU). The scoring loops free each
network's reference cycles (hook closures, autograd graphs) right after scoring it, so they score
it inside :func:`collect_on_exit`: the objects alive before the block are frozen (``gc.freeze``,
O(1)) and the collection on exit scans only what the block created. The block leaves the
garbage collector as it found it: the same freeze count, enabled or not as before.
"""

from __future__ import annotations

import ctypes
import gc
import platform
from collections.abc import Iterator
from contextlib import contextmanager

#: ``mallopt`` parameter numbers from glibc's ``malloc.h``.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: glibc's upper limit for M_MMAP_THRESHOLD on 64-bit systems (4 * 1024 * 1024 * sizeof(long)).
MAX_MMAP_THRESHOLD = 32 * 1024 * 1024
DEFAULT_TRIM_THRESHOLD = 1024 * 1024 * 1024


def tune_malloc(mmap_threshold: int = MAX_MMAP_THRESHOLD, trim_threshold: int = DEFAULT_TRIM_THRESHOLD) -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` for this process.

    Returns True if both were accepted, False if this is not glibc or glibc refused a value.
    """
    ok_mmap = _mallopt(M_MMAP_THRESHOLD, int(mmap_threshold))
    ok_trim = _mallopt(M_TRIM_THRESHOLD, int(trim_threshold))
    return ok_mmap and ok_trim


def _mallopt(param: int, value: int) -> bool:
    """Call glibc's ``mallopt(param, value)``; False if this is not glibc or glibc refused it.

    Every ``mallopt`` call of saswot goes through here (tests watch it to check that library
    calls leave the caller's process alone).
    """
    if platform.system() != "Linux":
        return False
    try:
        libc = ctypes.CDLL(None)  # the running process, which links the C library (no lookup)
        if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
            return False
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        return bool(libc.mallopt(param, value) == 1)
    except OSError:
        return False


@contextmanager
def collect_on_exit() -> Iterator[None]:
    """Run the block, then collect the garbage it created, skipping every older object.

    On entry every object alive is frozen (``gc.freeze``): collections during and at the end of
    the block skip it. On exit ``gc.collect()`` frees the block's reference cycles and the frozen
    objects are moved back (``gc.unfreeze``), so the freeze count is 0 again. Objects that were
    alive on entry and die inside the block are freed by a later collection.

    If the caller has frozen objects already, nothing more is frozen: ``gc.unfreeze`` releases
    every frozen object, so a freeze of ours could not be undone without undoing the caller's.
    The collection on exit then skips what the caller froze and the freeze count is unchanged.
    Whether the collector is enabled is not changed either way.
    """
    if gc.get_freeze_count() > 0:
        try:
            yield
        finally:
            gc.collect()
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        gc.unfreeze()
