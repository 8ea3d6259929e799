"""Load a user's network from a reference ``pkg.module:factory`` or ``path/to/file.py:factory``.

Used by ``saswot score`` so that any PyTorch segmentation network can be scored from the
command line without writing a script.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from saswot.errors import SaswotError


def _import_target(ref: str) -> tuple[Any, str]:
    """Split ``ref`` at its last ':' and import the module part (a dotted name or a .py file)."""
    module_part, sep, attr = ref.rpartition(":")
    if not sep or not module_part or not attr:
        raise SaswotError(f"model reference '{ref}' must look like pkg.module:function or path/to/file.py:function")
    if module_part.endswith(".py"):
        path = Path(module_part)
        if not path.is_file():
            raise SaswotError(f"model file '{path}' does not exist; give an existing .py file or a module name")
        name = f"_saswot_user_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise SaswotError(f"cannot import '{path}' as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's module failed while importing: report it in one line
            sys.modules.pop(name, None)
            raise SaswotError(f"importing '{path}' failed: {type(exc).__name__}: {exc}") from exc
        return module, attr
    try:
        return importlib.import_module(module_part), attr
    except ModuleNotFoundError as exc:
        raise SaswotError(
            f"cannot import module '{module_part}' ({exc}); check the name, install the package or run from its "
            "folder, or give a file path (path/to/file.py:function)"
        ) from exc
    except Exception as exc:  # the user's module failed while importing: report it in one line
        raise SaswotError(f"importing '{module_part}' failed: {type(exc).__name__}: {exc}") from exc


def load_model(ref: str, kwargs: Mapping[str, Any] | None = None) -> nn.Module:
    """Build the network that ``ref`` names.

    Args:
        ref: ``pkg.module:factory`` or ``path/to/file.py:factory``; the factory is any callable returning an
            ``nn.Module`` (a class works too), or the attribute is an ``nn.Module`` instance.
        kwargs: keyword arguments for the factory.

    Raises:
        SaswotError: the module or attribute is missing, the factory fails or returns no ``nn.Module``.
    """
    module, attr = _import_target(ref)
    if not hasattr(module, attr):
        public = sorted(n for n in dir(module) if not n.startswith("_"))
        close = difflib.get_close_matches(attr, public, n=3, cutoff=0.6)
        if close:
            raise SaswotError(
                f"'{module.__name__}' has no attribute '{attr}'; did you mean {' or '.join(repr(c) for c in close)}?"
            )
        shown = ", ".join(public[:20]) + (f", ... ({len(public)} in all)" if len(public) > 20 else "")
        raise SaswotError(f"'{module.__name__}' has no attribute '{attr}' (it has: {shown})")
    target = getattr(module, attr)
    if isinstance(target, nn.Module):
        if kwargs:
            raise SaswotError(f"'{ref}' is a module instance, not a factory: it takes no {{kwargs}}")
        return target
    if not callable(target):
        raise SaswotError(f"'{ref}' is a {type(target).__name__}, not a callable returning an nn.Module")
    try:
        model = target(**dict(kwargs or {}))
    except Exception as exc:  # the user's factory failed: report it in one line
        raise SaswotError(f"calling '{ref}' failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, nn.Module):
        raise SaswotError(f"'{ref}' returned a {type(model).__name__}, expected a torch.nn.Module")
    return model
