"""A fast structural clone of an ``nn.Module`` tree whose parameters share the caller's storage.

``copy.deepcopy`` of a TransNAS-Bench-101 network (about 230 modules) takes 12-17 ms on the
development CPU even when the parameters are memoised (it walks every attribute through
``__reduce_ex__``), which is 0.2-0.3 of a forward+backward at 64 px. :func:`clone_sharing_weights`
builds the same tree directly: a new object of each module's class with a copy of its
``__dict__``, new leaf parameters on the caller's storage, cloned buffers and cloned submodules
(2-3.5 ms for the same networks; docs/results.md section 1a).

It only does so when that is provably equivalent to the deep copy for what the proxies do with
the clone (run it, hook it, switch its modes, update its BatchNorm statistics): every attribute
of every module must be immutable (numbers, strings, dtypes, functions, classes, tuples /
frozensets / frozen dataclasses of those) or a torch-internal container (hook dictionaries,
the non-persistent-buffer set) that is copied shallowly; no module class may customise copying
(``__deepcopy__``, ``__getstate__``, ``__setstate__`` beyond torch's backward-compatibility
fill-ins, ``__slots__``) or hold plain tensors outside ``_parameters`` / ``_buffers``. Anything
else (a list of modules kept as a plain attribute, a mutable cache, an RNN's flat weights) makes
it return None, and the caller falls back to ``copy.deepcopy``.
"""

from __future__ import annotations

import dataclasses
import types

import torch
from torch import nn

#: Values that a clone may share with the original (immutable).
_IMMUTABLE_TYPES = (
    type(None), bool, int, float, complex, str, bytes, range,
    torch.dtype, torch.device, torch.layout, torch.memory_format, torch.Size,
    types.FunctionType, types.BuiltinFunctionType, type,
)  # fmt: skip

#: torch-internal ``__dict__`` entries of a module that hold containers copied shallowly.
_INTERNAL_CONTAINERS = frozenset(
    {
        "_backward_hooks",
        "_backward_pre_hooks",
        "_forward_hooks",
        "_forward_hooks_always_called",
        "_forward_hooks_with_kwargs",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_load_state_dict_pre_hooks",
        "_load_state_dict_post_hooks",
        "_non_persistent_buffers_set",
    }
)

_STRUCTURE = frozenset({"_parameters", "_buffers", "_modules"})


def is_immutable(value: object) -> bool:
    """True for values a clone may share with its original (see the module doc)."""
    if isinstance(value, _IMMUTABLE_TYPES):
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(is_immutable(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        params = getattr(type(value), "__dataclass_params__", None)
        return bool(params is not None and params.frozen) and all(
            is_immutable(getattr(value, f.name)) for f in dataclasses.fields(value)
        )
    return False


#: torch classes whose ``__setstate__`` only fills in attributes missing from old pickles (e.g.
#: ``_ConvNd`` sets ``padding_mode`` if absent): a live module has them, so a structural clone
#: equals what ``copy.deepcopy`` builds through ``__setstate__``.
_BACKFILL_SETSTATE = frozenset(
    {
        nn.modules.conv._ConvNd,
        nn.AvgPool3d,
        nn.LogSoftmax,
        nn.Softmax,
        nn.Softmin,
        nn.Upsample,
        nn.MultiheadAttention,
        nn.TransformerEncoderLayer,
        nn.TransformerDecoderLayer,
    }
)


def _plain_class(cls: type) -> bool:
    """The class copies like ``nn.Module`` itself: no custom copy protocol (other than a torch
    backward-compatibility ``__setstate__``, see ``_BACKFILL_SETSTATE``) and no slots."""
    for klass in cls.__mro__:
        if klass is nn.Module or klass is object:
            continue
        own = vars(klass)
        if "__slots__" in own or "__deepcopy__" in own or "__getstate__" in own or "__reduce_ex__" in own:
            return False
        if "__setstate__" in own and klass not in _BACKFILL_SETSTATE:
            return False
    return True


def clone_sharing_weights(model: nn.Module) -> nn.Module | None:
    """Structural clone of ``model`` with parameters as new leaves on the same storage, or None.

    Parameters become ``nn.Parameter(p.detach(), requires_grad=p.requires_grad)`` (no data copy;
    a parameter used twice stays tied), buffers are cloned, submodules cloned recursively (a
    module used twice stays shared), hook dictionaries copied. Returns None when the tree has
    anything the clone could not copy exactly like ``copy.deepcopy`` (module doc).
    """
    try:
        return _Cloner().module(model)
    except _NotPlain:
        return None


class _NotPlain(Exception):
    """A module of the tree cannot be cloned structurally."""


class _Cloner:
    """One clone: the memo of objects already cloned and the storages of the cloned buffers."""

    def __init__(self) -> None:
        self.memo: dict[int, object] = {}
        self.buffer_storages: set[int] = set()

    def module(self, module: nn.Module) -> nn.Module:
        if id(module) in self.memo:
            return self.memo[id(module)]  # type: ignore[return-value]
        cls = type(module)
        if not _plain_class(cls):
            raise _NotPlain(cls.__name__)
        state: dict[str, object] = {}
        for key, value in module.__dict__.items():
            if key in _STRUCTURE:
                continue
            if key in _INTERNAL_CONTAINERS and isinstance(value, (dict, set)):
                state[key] = value.copy()
            elif is_immutable(value):
                state[key] = value
            else:
                raise _NotPlain(f"{cls.__name__}.{key}")
        state["_parameters"] = {k: None if p is None else self.parameter(p) for k, p in module._parameters.items()}
        state["_buffers"] = {k: None if b is None else self.buffer(b) for k, b in module._buffers.items()}
        state["_modules"] = {k: None if m is None else self.module(m) for k, m in module._modules.items()}
        new = cls.__new__(cls)
        new.__dict__.update(state)
        self.memo[id(module)] = new
        return new

    def parameter(self, p: torch.Tensor) -> nn.Parameter:
        if id(p) not in self.memo:
            if type(p) is not nn.Parameter or p.__dict__:
                raise _NotPlain("parameter subclass or parameter with attributes")
            self.memo[id(p)] = nn.Parameter(p.detach(), requires_grad=p.requires_grad)
        return self.memo[id(p)]  # type: ignore[return-value]

    def buffer(self, b: torch.Tensor) -> torch.Tensor:
        if id(b) not in self.memo:
            if type(b) is not torch.Tensor or b.__dict__ or b.requires_grad or b._base is not None:
                raise _NotPlain("buffer subclass, view, or buffer with attributes or requires_grad")
            storage = b.untyped_storage()
            if storage.nbytes() and storage.data_ptr() in self.buffer_storages:
                raise _NotPlain("buffers sharing storage")  # deepcopy would keep them shared
            self.buffer_storages.add(storage.data_ptr())
            self.memo[id(b)] = b.detach().clone()
        return self.memo[id(b)]  # type: ignore[return-value]
