"""Quiet the harmless errors of multiprocessing's descriptor-sharing thread.

Tensors passed between processes travel as shared file descriptors, served by a thread of
``multiprocessing.resource_sharer`` in the process that sends them. When the other side goes away
mid-transfer (Ctrl-C stops the driver; a worker dies), that thread gets ``ConnectionResetError`` or
``EOFError`` and prints a traceback through ``sys.excepthook`` — in whichever process served, a
worker included. Nothing is lost (the network is retried or left to a rerun), so saswot's entry
point and its worker processes install hooks that drop exactly those errors and pass every other
exception on. Standard library only: the CLI imports it before anything heavy.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

SHARER_FILE = "multiprocessing/resource_sharer.py"


def is_fd_sharing_error(exc_type: type[BaseException] | None, tb: TracebackType | None) -> bool:
    """A connection error (or EOF) raised inside multiprocessing's ``resource_sharer`` module."""
    files = set()
    while tb is not None:
        files.add(tb.tb_frame.f_code.co_filename.replace("\\", "/"))
        tb = tb.tb_next
    return (
        exc_type is not None
        and issubclass(exc_type, (ConnectionError, EOFError))
        and any(f.endswith(SHARER_FILE) for f in files)
    )


def quiet_threading_hook(previous: Callable[[Any], Any]) -> Callable[[Any], None]:
    """A ``threading.excepthook`` that drops descriptor-sharing errors and passes the rest to ``previous``."""

    def hook(args: Any) -> None:
        if not is_fd_sharing_error(args.exc_type, args.exc_traceback):
            previous(args)

    return hook


def quiet_sys_hook(previous: Callable[..., Any]) -> Callable[..., None]:
    """The same filter for ``sys.excepthook``, which the sharing thread's own ``except`` clause calls."""

    def hook(exc_type: Any, exc_value: Any, exc_traceback: Any) -> None:
        if not is_fd_sharing_error(exc_type, exc_traceback):
            previous(exc_type, exc_value, exc_traceback)

    return hook


def install_quiet_hooks() -> Callable[[], None]:
    """Install both filters in this process; returns a function that puts the previous hooks back."""
    previous_thread, previous_sys = threading.excepthook, sys.excepthook
    threading.excepthook = quiet_threading_hook(previous_thread)
    sys.excepthook = quiet_sys_hook(previous_sys)

    def restore() -> None:
        threading.excepthook, sys.excepthook = previous_thread, previous_sys

    return restore
