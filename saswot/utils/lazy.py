"""Lazy package namespaces: a package's public names are imported on first use.

``saswot.spaces.tnb101`` and ``saswot.spaces.fasterseg`` re-export their builders, which import torch; listing
the search spaces (``saswot spaces``) or reading a ground-truth file must not pay for that. A
package calls :func:`lazy_namespace` with ``{public name: module}`` and its names resolve on
first access (PEP 562), exactly as an eager ``from module import name`` would have bound them.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package module whose public names are imported on first access.

    The import system binds a submodule to its package's attribute of the same name; where a
    public name is also a submodule's name (``saswot.spaces.fasterseg.decode``, the function, and its
    module), the public name wins, as it did with eager imports.
    """

    _lazy_exports: Mapping[str, str]

    def __getattr__(self, name: str) -> Any:
        module = self._lazy_exports.get(name)
        if module is None:
            raise AttributeError(f"module '{self.__name__}' has no attribute '{name}'")
        value = getattr(importlib.import_module(module), name)
        types.ModuleType.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in self._lazy_exports:
            return  # a submodule shadowing a public name of the same name: keep the public name
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._lazy_exports))


def lazy_namespace(package: str, exports: Mapping[str, str]) -> None:
    """Make the public names of ``package`` (``{name: defining module}``) load on first access.

    Call it at the end of the package's ``__init__``; keep an ``if TYPE_CHECKING:`` block with the
    eager imports there for type checkers.
    """
    module = sys.modules[package]
    module.__class__ = _LazyPackage
    types.ModuleType.__setattr__(module, "_lazy_exports", dict(exports))
