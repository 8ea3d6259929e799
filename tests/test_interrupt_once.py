"""Ctrl-C: the first one interrupts, the ones after it are ignored while the command winds down."""

from __future__ import annotations

import os
import signal

import pytest

from saswot.cli.main import _interrupt_once


def test_the_first_sigint_interrupts_and_the_second_is_ignored() -> None:
    restore = _interrupt_once()
    try:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs at the next bytecode boundary
                pass
        os.kill(os.getpid(), signal.SIGINT)  # would raise (or kill) without the guard
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_embedding_programs_handler_is_left_alone() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGINT, mine)
    try:
        restore = _interrupt_once()
        assert signal.getsignal(signal.SIGINT) is mine
        restore()
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, previous)
