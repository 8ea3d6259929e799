"""The one device check."""

from __future__ import annotations

import pytest
import torch

from saswot.runtime.device import check_device, resolve_device
from saswot.errors import ResourceError, UnknownNameError


def test_cpu_and_auto() -> None:
    assert check_device("cpu") == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "tpu:0", ""])
def test_unknown_device_names(bad: str) -> None:
    with pytest.raises(UnknownNameError, match="unknown device"):
        check_device(bad)


def test_auto_only_where_allowed() -> None:
    with pytest.raises(UnknownNameError, match="cpu, cuda or cuda:<i>"):
        check_device("auto")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_says_so() -> None:
    for name in ("cuda", "cuda:1"):
        with pytest.raises(ResourceError, match="no CUDA GPU is available; use device cpu"):
            check_device(name)
