"""Shared pytest fixtures, and the data check of the test command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

#: What the data-dependent tests read below ``$SASWOT_DATA``.
REQUIRED_DATA = ("tnb101/zc_transbench101_micro.json", "tnb101/zc_transbench101_macro.json", "camvid/train.txt",
                 "camvid/val.txt")


def pytest_sessionstart(session: pytest.Session) -> None:
    """With ``SASWOT_DATA`` set, its data must be there: fail the run instead of skipping those tests."""
    root = os.environ.get("SASWOT_DATA")
    if not root:
        return
    missing = [rel for rel in REQUIRED_DATA if not (Path(root) / rel).is_file()]
    if missing:
        pytest.exit(f"SASWOT_DATA={root} is set but {', '.join(missing)} is missing there; fix the path or unset "
                    "SASWOT_DATA to skip the data-dependent tests", returncode=1)


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """Run a test with one torch thread (timing- and contention-sensitive tests), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache root (``SASWOT_CACHE``), never the user's."""
    root = tmp_path_factory.mktemp("saswot-cache")
    monkeypatch.setenv("SASWOT_CACHE", str(root))
    return root
