"""The one device check: ``cpu``, ``cuda``, ``cuda:<i>`` or ``auto``."""

from __future__ import annotations

import torch

from saswot.errors import ResourceError, UnknownNameError


def check_device(device: str, allow_auto: bool = False) -> str:
    """Validate a device name and return it (``auto`` resolved when ``allow_auto``).

    Raises:
        UnknownNameError: not a device name.
        ResourceError: a CUDA device was asked for but none is available.
    """
    name = str(device).strip()
    if allow_auto and name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    index = name[5:] if name.startswith("cuda:") else ""
    if name not in ("cpu", "cuda") and not index.isdigit():
        choices = "auto, cpu, cuda or cuda:<i>" if allow_auto else "cpu, cuda or cuda:<i>"
        raise UnknownNameError(f"unknown device '{device}': use {choices}")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ResourceError(f"{{device}} {name} was asked for but no CUDA GPU is available; use {{device}} cpu")
        if index and int(index) >= torch.cuda.device_count():
            raise ResourceError(f"{{device}} {name}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return name


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA if available, else CPU; otherwise the named device, checked."""
    return torch.device(check_device(device, allow_auto=True))
