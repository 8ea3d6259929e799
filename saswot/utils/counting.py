"""Parameter and FLOP counting (the ``params`` / ``flops`` zero-cost proxies).

Convention: that of tensorwatch's ``ModelStats``, which NAS-Bench-Suite-Zero used for its
``params``/``flops`` records (details in ``docs/tnb101.md``). One forward pass in eval mode with a
forward hook on every *leaf* module; each leaf is charged once (on its first call) by its type:

============================================  =====================================================
module                                        FLOPs
============================================  =====================================================
``Conv2d``                                    k_h·k_w·C_in·(C_out/groups)·H_out·W_out·N
                                              (+ C_out·H_out·W_out·N with bias) — MACs
``BatchNorm1d/2d/3d``                         numel(input) × (2 if affine else 1)
``ReLU, ReLU6, LeakyReLU, PReLU, ELU``        numel(input)
``MaxPool/AvgPool`` (also adaptive)           numel(input)
``Linear``                                    rows · in_features · out_features (no bias term)
``Upsample``                                  numel(output)
anything else (``ConvTranspose2d``,           0
``Identity``, padding, functional ops)
============================================  =====================================================

``params`` is the number of distinct parameter elements of the whole model (equal to
tensorwatch's sum over leaves whenever every leaf runs). Unknown leaves count 0 FLOPs but their
parameters count.

The pass runs on the ``meta`` device through :func:`torch.func.functional_call` with shape-only
copies of the parameters and buffers: no activation memory, no change to the caller's model
(hooks are removed and train/eval flags restored). Models whose forward needs real values
(data-dependent control flow) fall back to a real CPU pass with ``torch.no_grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.overrides import TorchFunctionMode

_RELU_TYPES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU)
_POOL_TYPES: tuple[type[nn.Module], ...] = (
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)


@dataclass(frozen=True)
class LayerCount:
    """Counts of one leaf module.

    Attributes:
        name: qualified module name.
        kind: module class name.
        params: own parameter elements.
        flops: FLOPs charged (see module docstring).
    """

    name: str
    kind: str
    params: int
    flops: int


@dataclass(frozen=True)
class ModelCounts:
    """Parameter and FLOP totals of a model for one input shape.

    Attributes:
        params: parameter elements (BN affine weights and biases included, buffers excluded).
        flops: FLOPs in the tensorwatch convention (multiply-accumulates for convolutions).
        input_shape: the input shape used.
        layers: per executed leaf module counts, in execution order.
    """

    params: int
    flops: int
    input_shape: tuple[int, ...]
    layers: tuple[LayerCount, ...] = field(default=(), repr=False)

    @property
    def params_m(self) -> float:
        """Parameters in millions (NAS-Bench-Suite-Zero's ``params`` unit)."""
        return self.params / 1e6

    @property
    def mflops(self) -> float:
        """FLOPs in millions (NAS-Bench-Suite-Zero's ``flops`` unit)."""
        return self.flops / 1e6


def _numel(shape: torch.Size | tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _first_tensor(obj: object) -> torch.Tensor | None:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (tuple, list)):
        for item in obj:
            t = _first_tensor(item)
            if t is not None:
                return t
    return None


def leaf_flops(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    """FLOPs charged for one call of a leaf ``module`` (tensorwatch rules; 0 for unknown types).

    Args:
        module: the leaf module.
        inp: its first input tensor.
        out: its first output tensor.
    """
    if isinstance(module, nn.Conv2d):
        n = int(inp.shape[0]) if inp.dim() == 4 else 1
        c_in = module.in_channels
        c_out = module.out_channels
        h_out, w_out = int(out.shape[-2]), int(out.shape[-1])
        k_h, k_w = module.kernel_size
        positions = n * h_out * w_out
        flops = k_h * k_w * c_in * (c_out // module.groups) * positions
        if module.bias is not None:
            flops += c_out * positions
        return flops
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return _numel(inp.shape) * (2 if module.affine else 1)
    if isinstance(module, _RELU_TYPES):
        return _numel(inp.shape)
    if isinstance(module, _POOL_TYPES):
        return _numel(inp.shape)
    if isinstance(module, nn.Linear):
        rows = _numel(inp.shape) // max(module.in_features, 1)
        return rows * module.in_features * module.out_features
    if isinstance(module, nn.Upsample):
        return _numel(out.shape)
    return 0


def _leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if next(m.children(), None) is None]


def _run_counted(model: nn.Module, run: Callable[[], object]) -> tuple[list[LayerCount], int]:
    """Run ``run()`` with counting hooks on every leaf of ``model``; return layers and FLOPs."""
    seen: set[int] = set()
    layers: list[LayerCount] = []
    handles = []

    def make_hook(name: str) -> Callable[[nn.Module, tuple[object, ...], object], None]:
        def hook(module: nn.Module, args: tuple[object, ...], output: object) -> None:
            if id(module) in seen:  # tensorwatch charges a leaf once
                return
            seen.add(id(module))
            inp = _first_tensor(args)
            out = _first_tensor(output)
            flops = 0 if inp is None or out is None else leaf_flops(module, inp, out)
            own = sum(p.numel() for p in module.parameters(recurse=False))
            layers.append(LayerCount(name, type(module).__name__, int(own), int(flops)))

        return hook

    try:
        for name, m in _leaf_modules(model):
            handles.append(m.register_forward_hook(make_hook(name)))
        run()
    finally:
        for h in handles:
            h.remove()
    return layers, sum(lc.flops for lc in layers)


def count_model(
    model: nn.Module,
    input_shape: tuple[int, ...],
    device: str = "meta",
) -> ModelCounts:
    """Count parameters and FLOPs of ``model`` for one input of ``input_shape``.

    The caller's model is not modified: the pass uses shape-only copies of its tensors on the
    ``meta`` device (no activation memory; a 50 M-parameter model counts in well under a second),
    hooks are removed and train/eval flags restored afterwards.

    Args:
        model: any ``nn.Module`` taking one tensor.
        input_shape: e.g. ``(1, 3, 256, 256)`` (NAS-Bench-Suite-Zero's convention for TNB101).
        device: ``"meta"`` (default) for a shape-only pass, or ``"real"`` for a real pass on the
            model's own device (needs activation memory); on ``"meta"``, a model whose forward
            needs real values falls back to a real pass.

    Returns:
        :class:`ModelCounts` with ``params`` and ``flops`` (use ``params_m``/``mflops`` to
        compare with NAS-Bench-Suite-Zero's records).
    """
    shape = tuple(int(s) for s in input_shape)
    params = sum(p.numel() for p in model.parameters())
    training = {m: m.training for m in model.modules()}
    model.eval()
    try:
        if device == "meta":
            try:
                layers, flops = _count_meta(model, shape)
            except (NotImplementedError, RuntimeError):
                # Data-dependent forward (e.g. .item()) cannot run on meta tensors: count with a
                # real pass, unless the model itself lives on meta (then the error is genuine).
                if any(p.device.type == "meta" for p in model.parameters()):
                    raise
                layers, flops = _count_real(model, shape)
        elif device == "real":
            layers, flops = _count_real(model, shape)
        else:
            raise ValueError(f"device must be 'meta' or 'real', got {device!r}")
    finally:
        for m, flag in training.items():
            m.training = flag
    return ModelCounts(params=int(params), flops=int(flops), input_shape=shape, layers=tuple(layers))


#: Shape-preserving functions answered by :class:`_MetaShapeShortcuts` (first argument = input).
_SHAPE_PRESERVING = frozenset({F.batch_norm, F.relu, F.leaky_relu, F.relu6, F.elu, torch.relu})
#: Binary element-wise functions answered when both operands are meta tensors of equal shape.
_SAME_SHAPE_BINARY = frozenset({torch.Tensor.__add__, torch.Tensor.add, torch.add, torch.Tensor.__mul__})


def _bn_shape_ok(func: object, x: torch.Tensor, args: tuple, kwargs: dict) -> bool:
    """For ``F.batch_norm``: the statistics match the input's channels (else let it raise)."""
    if func is not F.batch_norm:
        return True
    stats = [a for a in args[1:5] if isinstance(a, torch.Tensor)]
    stats += [v for k, v in kwargs.items() if k in ("running_mean", "running_var", "weight", "bias") and v is not None]
    return x.dim() >= 2 and all(s.dim() == 1 and s.shape[0] == x.shape[1] for s in stats)


class _MetaShapeShortcuts(TorchFunctionMode):
    """Answer shape-preserving ops on meta tensors without running their meta kernels.

    PyTorch implements the meta kernels of batch norm, ReLU and element-wise arithmetic in
    Python (milliseconds per call); the counting pass only needs shapes, so inside this mode
    ``F.batch_norm``, ``F.relu``/``leaky_relu``/``relu6``/``elu`` on a meta input and ``a + b``
    / ``a * b`` on equal-shape meta tensors (or a meta tensor and a Python number) return an
    empty meta tensor of the right shape. Module forward hooks still fire. Active only inside
    :func:`count_model`'s meta pass.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        if func in _SHAPE_PRESERVING:
            x = args[0] if args else kwargs.get("input")
            if isinstance(x, torch.Tensor) and x.device.type == "meta" and _bn_shape_ok(func, x, args, kwargs):
                return torch.empty_like(x)
        elif func in _SAME_SHAPE_BINARY and len(args) == 2 and not kwargs:
            a, b = args
            if isinstance(a, torch.Tensor) and a.device.type == "meta":
                if isinstance(b, (int, float)) and not isinstance(b, bool):
                    return torch.empty_like(a)
                if (
                    isinstance(b, torch.Tensor)
                    and b.device.type == "meta"
                    and a.shape == b.shape
                    and a.dtype == b.dtype
                ):
                    return torch.empty_like(a)
        return func(*args, **kwargs)


def _count_meta(model: nn.Module, shape: tuple[int, ...]) -> tuple[list[LayerCount], int]:
    tensors: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        tensors[name] = torch.empty(p.shape, dtype=p.dtype, device="meta")
    for name, b in model.named_buffers():
        tensors[name] = torch.empty(b.shape, dtype=b.dtype, device="meta")
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    x = torch.empty(shape, dtype=dtype, device="meta")

    def run() -> object:
        with torch.no_grad(), _MetaShapeShortcuts():
            return functional_call(model, tensors, (x,), strict=False)

    return _run_counted(model, run)


def _count_real(model: nn.Module, shape: tuple[int, ...]) -> tuple[list[LayerCount], int]:
    first = next(model.parameters(), None)
    if first is not None and first.device.type == "meta":
        raise RuntimeError("a meta-device model cannot run a real counting pass; count it on 'meta'")
    dev = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    x = torch.rand(shape, dtype=dtype, device=dev)

    def run() -> object:
        with torch.no_grad():
            return model(x)

    return _run_counted(model, run)
