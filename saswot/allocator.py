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

The command-line entry point calls :func:`tune_malloc` once; library users may call it (it only
changes this process) or not. On systems without glibc it does nothing.

The same kind of jobs also pay for Python's cyclic garbage collector: the imported libraries and
a loaded benchmark table keep about 385,000 Python objects alive in a ``saswot rank`` process, and
every full collection scans them all (160 ms on the development CPU). The scoring loops free each
network's reference cycles (hook closures, autograd graphs) right after scoring it, so they score
it inside :func:`collect_on_exit`: the objects alive before the block are frozen (``gc.freeze``,
O(1)) and the collection on exit scans only what the block created.
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
    if platform.system() != "Linux":
        return False
    try:
        libc = ctypes.CDLL(None)  # the running process, which links the C library (no lookup)
        if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
            return False
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        ok_mmap = libc.mallopt(M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
        ok_trim = libc.mallopt(M_TRIM_THRESHOLD, int(trim_threshold)) == 1
    except OSError:
        return False
    return ok_mmap and ok_trim


@contextmanager
def collect_on_exit() -> Iterator[None]:
    """Run the block, then collect the garbage it created, skipping every older object.

    On entry every object alive is frozen (``gc.freeze``): collections during and at the end of
    the block skip it. On exit ``gc.collect()`` frees the block's reference cycles and the frozen
    objects are moved back (``gc.unfreeze``), unless some were already frozen on entry, in which
    case the caller's freeze is left as is. Objects that were alive on entry and die inside the
    block are freed by a later collection.
    """
    already = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        if not already:
            gc.unfreeze()
