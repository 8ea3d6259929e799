"""One forward + backward pass that collects every statistic the zero-cost proxies need.

:func:`collect_stats` runs on a private copy of the caller's model (:func:`prepare_copy`; so the
caller's parameters, gradients, hooks, buffers and train/eval mode are never touched) and
returns a plain :class:`NetStats`:

* per ``nn.Conv2d`` / ``nn.Linear`` layer, in the order the layers first run in the forward
  pass: the weight ``W``, the weight gradient ``dL/dW`` (zeros if no gradient reached it), a
  bounded sample of the layer output ``A`` and the per-output-channel Fisher saliency;
* the NWOT kernel ``K_H`` (N x N, float64) accumulated from the binary codes of the inputs of
  every ReLU-type module (class name contains ``ReLU``: ReLU, ReLU6, LeakyReLU, ...);
* the input gradient ``d(sum of logits)/dx`` (jacov / epe_nas), computed with a second,
  input-only backward over the same graph (no second forward);
* optionally (``keep_grad_graph``, for grasp) the weight gradients *with their autograd graph*
  (``create_graph=True``), so that a Hessian-gradient product needs only one more backward and
  no second forward; they are handed over in ``NetStats.extra["grad_graph"]``;
* the loss and the logits' shape.

Only the Conv2d / Linear weights are differentiated (``torch.autograd.grad``), so no gradient is
computed for BatchNorm or bias parameters, and no ``.grad`` field is written.

Loss: pixel-wise cross entropy, mean over valid pixels, ``ignore_index`` pixels skipped; logits
are bilinearly resized (``align_corners=False``) to the label size when they differ; when the
model returns a tuple/list (aux heads) only the first element is used.

Mode: the copy runs in train mode (BatchNorm uses batch statistics, as NWOT's authors require);
dropout modules are put in eval mode so that the score is deterministic.

Activation memory bound: a layer output of shape N x C x H x W is stored as N x C x k with
``k = min(H*W, max(1, act_max_elems // C))`` spatial positions chosen once by a fixed-seed
random permutation (seed = layer index), so the same positions are used for every architecture
with the same layer shapes, and at most ``max(act_max_elems, C)`` values are kept per sample.
A Linear output N x F is kept whole if F <= act_max_elems, else F is subsampled the same way.

NWOT memory bound: the binary code of one ReLU input (N x D) is processed in column chunks of
at most 65,536 units; each chunk's counts are exact in float32 (< 2^24) and are added into a
float64 kernel, so memory stays O(N x 65,536) whatever the resolution.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from saswot.runtime.module_clone import clone_sharing_weights

#: Column chunk for the NWOT kernel (float32 counts stay exact below 2^24).
NWOT_CHUNK = 65_536


@dataclass
class LayerStats:
    """Statistics of one Conv2d / Linear layer.

    Attributes:
        name: qualified module name in the model.
        kind: ``"conv"`` or ``"linear"``.
        weight: detached fp32 CPU W, not a clone: a view of the weight of the network the pass ran
            on, which shares the caller's storage when that network comes from
            ``prepare_copy(share_weights=True)`` — read it, never write to it.
        grad: dL/dW, same shape as W (zeros if no gradient reached the layer).
        act: layer output subsampled to N x C x k (conv) or N x F' (linear), see module doc.
        fisher: per-output-channel Fisher saliency ``0.5 * mean_n (sum_hw z * dL/dz)^2``.
        fan_in: ``C_in / groups * kh * kw`` (conv) or ``in_features`` (linear).
    """

    name: str
    kind: str
    weight: Tensor
    grad: Tensor
    act: Tensor
    fisher: Tensor | None = None
    fan_in: int = 1


@dataclass
class NetStats:
    """Everything one statistics pass produced (all tensors detached, on CPU)."""

    layers: list[LayerStats]
    nwot_kernel: Tensor | None
    input_grad: Tensor | None
    features: Tensor | None
    logits_shape: tuple
    loss: float
    relu_modules: int = 0
    extra: dict = field(default_factory=dict)


def main_output(out: object) -> Tensor:
    """Return the main logits of a model output (first element of a tuple/list)."""
    if isinstance(out, (tuple, list)):
        if not out:
            raise ValueError("model returned an empty tuple")
        return main_output(out[0])
    if isinstance(out, dict):
        for key in ("out", "logits"):
            if key in out:
                return out[key]
        raise ValueError(f"model returned a dict without 'out'/'logits' keys: {sorted(out)}")
    if not isinstance(out, Tensor):
        raise TypeError(f"model returned {type(out).__name__}, expected a Tensor")
    return out


def seg_loss(logits: Tensor, labels: Tensor, ignore_index: int = 255) -> Tensor:
    """Pixel-wise cross entropy (mean over valid pixels); resizes logits to the label size.

    Accepts N x C logits with N labels (classification) as well as N x C x H x W logits with
    N x H x W labels.
    """
    labels = labels.long()
    if logits.dim() == 4 and labels.dim() == 3 and logits.shape[-2:] != labels.shape[-2:]:
        logits = F.interpolate(logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
    return F.cross_entropy(logits, labels, ignore_index=ignore_index)


def param_key(module_name: str, attr: str) -> str:
    """State-dict key of ``attr`` (a parameter or buffer) of the module named ``module_name``
    (``""`` for the root module), as ``torch.func.functional_call`` expects it."""
    return f"{module_name}.{attr}" if module_name else attr


def prepare_copy(model: nn.Module, device: str | torch.device = "cpu", *, share_weights: bool = False) -> nn.Module:
    """Deep copy of ``model`` on ``device`` in train mode, dropout off, no grads, no hooks.

    With ``share_weights`` every parameter already on ``device`` becomes a new leaf
    ``nn.Parameter`` that shares the caller's storage (no data copy; modules, buffers and hooks
    are still private). Only for callers that never write to the weights: the proxies read them,
    differentiate through them with ``torch.autograd.grad`` (no ``.grad`` is written) and pass
    changed weights through ``torch.func.functional_call``. Copying 12-52 M parameters costs about
    a quarter of a forward+backward of a TransNAS-Bench-101 network at 64 px, and the fresh pages
    it touches cost as much again. When every parameter is on ``device`` and the module tree is
    plain (:func:`saswot.runtime.module_clone.clone_sharing_weights`), the modules are cloned
    structurally instead of through ``copy.deepcopy`` (2-3.5 instead of 12-17 ms for a TNB network).
    """
    target = torch.empty(0, device=device).device
    params = list(model.parameters())
    on_target = all(t.device == target for t in params + list(model.buffers()))
    net = clone_sharing_weights(model) if share_weights and on_target else None
    if net is None:
        memo: dict[int, object] = {}
        if share_weights:
            for p in params:
                if p.device == target:
                    memo[id(p)] = nn.Parameter(p.detach(), requires_grad=True)
        net = copy.deepcopy(model, memo).to(device)
    net.train()
    for m in net.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()
        m._forward_hooks.clear()
        m._forward_pre_hooks.clear()
        m._backward_hooks.clear()
        if hasattr(m, "_backward_pre_hooks"):
            m._backward_pre_hooks.clear()
    for p in net.parameters():
        p.grad = None
        p.requires_grad_(True)
    return net


def find_classifier(model: nn.Module, num_classes: int | None = None) -> nn.Module:
    """The final layer producing the class logits.

    ``model.classifier`` if it is a Conv2d/Linear, else the last Conv2d/Linear (in module order)
    whose output size equals ``num_classes`` (or simply the last one if ``num_classes`` is None).
    """
    head = getattr(model, "classifier", None)
    if isinstance(head, (nn.Conv2d, nn.Linear)):
        return head
    candidates = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if num_classes is not None:
        candidates = [
            m for m in candidates if (m.out_channels if isinstance(m, nn.Conv2d) else m.out_features) == num_classes
        ]
    if not candidates:
        raise ValueError(f"no Conv2d/Linear layer with {num_classes} outputs found in the model")
    return candidates[-1]


def _subsample(out: Tensor, max_elems: int, seed: int) -> Tensor:
    """Bounded sample of a layer output, keeping the N x C layout (see module doc)."""
    out = out.detach()
    n = out.shape[0]
    if out.dim() == 2:
        feats = out.shape[1]
        if feats <= max_elems:
            return out.float().cpu().clone()
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(feats, generator=g)[:max_elems].sort().values
        return out[:, idx.to(out.device)].float().cpu()
    c = out.shape[1]
    flat = out.reshape(n, c, -1)
    hw = flat.shape[2]
    k = min(hw, max(1, max_elems // max(c, 1)))
    if k == hw:
        return flat.float().cpu().clone()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(hw, generator=g)[:k].sort().values
    return flat[:, :, idx.to(out.device)].float().cpu()


def _nwot_update(kernel: Tensor, x: Tensor) -> None:
    """Add ``c c^T + (1-c)(1-c)^T`` for the binary code c = 1[x > 0] into ``kernel`` (float64).

    With D units and s = c 1 (ones per row), ``(1-c)(1-c)^T = D - s 1^T - 1 s^T + c c^T``, and
    s is the diagonal of ``c c^T`` (c is 0/1), so one matrix product suffices:
    ``2 c c^T + D - s_i - s_j``. Every term is an integer below 2^24 per chunk, exact in float32,
    so the kernel is the same as with two products.
    """
    codes = x.detach().reshape(x.shape[0], -1)
    for start in range(0, codes.shape[1], NWOT_CHUNK):
        c = (codes[:, start : start + NWOT_CHUNK] > 0).float()
        both = c @ c.t()
        ones = both.diagonal()
        kernel += (2.0 * both + (c.shape[1] - ones[:, None] - ones[None, :])).double().cpu()


def collect_stats(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    ignore_index: int = 255,
    act_max_elems: int = 4096,
    need_input_grad: bool = True,
    need_nwot: bool = True,
    need_features: bool = False,
    num_classes: int | None = None,
    device: str = "cpu",
    copy_model: bool = True,
    keep_grad_graph: bool = False,
) -> NetStats:
    """Run one forward + backward on a copy of ``model`` and collect proxy statistics.

    Through a :class:`saswot.proxies.ProxyContext` the optional statistics (``need_*``,
    ``keep_grad_graph``) follow the union of what the scored proxies require
    (:class:`saswot.proxies.Stat`).

    Args:
        model: the network (never modified).
        images: N x C x H x W input batch.
        labels: N x H x W (or N) integer labels; ``ignore_index`` marks pixels to skip.
        ignore_index: label value excluded from the loss.
        act_max_elems: bound on stored activation values per sample and layer.
        need_input_grad: also compute d(sum of logits)/dx (jacov, epe_nas).
        need_nwot: accumulate the NWOT kernel K_H.
        need_features: keep the input of the classifier (pre-classifier feature map).
        num_classes: used to find the classifier when ``need_features`` is set.
        device: where to run.
        copy_model: False if ``model`` already is a private copy from :func:`prepare_copy`
            (its weights, buffers aside from BatchNorm running statistics, are left as they are).
        keep_grad_graph: differentiate with ``create_graph=True`` and return the live
            ``(weights, grads)`` lists in ``extra["grad_graph"]`` (grads that did not reach a
            weight are None). The caller must drop them when done: they hold the graph.

    Returns:
        A :class:`NetStats` with detached CPU tensors.
    """
    net = prepare_copy(model, device) if copy_model else model
    images = images.to(device)
    labels = labels.to(device)
    n = images.shape[0]

    layers: dict[nn.Conv2d | nn.Linear, LayerStats] = {}
    order: list[nn.Conv2d | nn.Linear] = []
    # layer outputs kept for the Fisher hook; cleared in `finally` so that no reference cycle
    # (tensor -> hook -> closure -> tensor) keeps the autograd graph alive after the pass
    outputs: dict[nn.Module, Tensor] = {}
    tensor_handles = []
    fisher_on = {"active": False}
    kernel = torch.zeros(n, n, dtype=torch.float64) if need_nwot else None
    relu_count = {"n": 0}
    feats: dict[str, Tensor] = {}
    handles = []
    names = {m: name for name, m in net.named_modules()}

    def layer_hook(module: nn.Conv2d | nn.Linear, inputs: tuple, out: Tensor) -> None:
        if module in layers:  # a module run twice keeps its first output
            return
        if isinstance(module, nn.Conv2d):
            kind = "conv"
            fan_in = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        else:
            kind = "linear"
            fan_in = module.in_features
        layers[module] = LayerStats(
            name=names.get(module, ""),
            kind=kind,
            weight=module.weight.detach().to("cpu", torch.float32),  # read-only view, see LayerStats
            grad=torch.zeros(0),
            act=_subsample(out, act_max_elems, seed=len(order)),
            fan_in=fan_in,
        )
        order.append(module)
        if out.requires_grad:
            outputs[module] = out

            def grad_hook(grad: Tensor, module: nn.Conv2d | nn.Linear = module) -> None:
                if not fisher_on["active"] or module not in outputs:
                    return
                prod = (outputs[module].detach() * grad.detach()).float()
                g = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
                delta = 0.5 * g.pow(2).mean(dim=0)
                stats = layers[module]
                stats.fisher = delta.cpu() if stats.fisher is None else stats.fisher + delta.cpu()

            tensor_handles.append(out.register_hook(grad_hook))

    def relu_hook(module: nn.Module, inputs: tuple) -> None:
        relu_count["n"] += 1
        _nwot_update(kernel, inputs[0])  # type: ignore[arg-type]

    def feature_hook(module: nn.Module, inputs: tuple) -> None:
        if "x" not in feats:
            feats["x"] = inputs[0].detach().float().cpu().clone()

    try:
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                handles.append(m.register_forward_hook(layer_hook))
            if need_nwot and "ReLU" in type(m).__name__:
                handles.append(m.register_forward_pre_hook(relu_hook))
        if need_features:
            handles.append(find_classifier(net, num_classes).register_forward_pre_hook(feature_hook))

        x = images.detach().clone().requires_grad_(need_input_grad)
        logits = main_output(net(x))
        loss = seg_loss(logits, labels, ignore_index)
        weighted = [m for m in layers if m.weight.requires_grad]
        fisher_on["active"] = True
        grads = torch.autograd.grad(
            loss,
            [m.weight for m in weighted],
            retain_graph=need_input_grad or keep_grad_graph,
            create_graph=keep_grad_graph,
            allow_unused=True,
        )
        fisher_on["active"] = False
        input_grad = None
        if need_input_grad:
            (input_grad,) = torch.autograd.grad(logits.sum(), x, retain_graph=keep_grad_graph, allow_unused=True)
            input_grad = torch.zeros_like(x) if input_grad is None else input_grad
            input_grad = input_grad.detach().cpu()
    finally:
        for h in handles + tensor_handles:
            h.remove()
        outputs.clear()
        fisher_on["active"] = False

    grad_of = dict(zip(weighted, grads))
    result: list[LayerStats] = []
    for m in order:
        st = layers[m]
        g = grad_of.get(m)
        st.grad = torch.zeros_like(st.weight) if g is None else g.detach().to("cpu", torch.float32)
        if st.fisher is None:
            channels = st.weight.shape[0]
            st.fisher = torch.zeros(channels)
        result.append(st)
    return NetStats(
        layers=result,
        nwot_kernel=kernel,
        input_grad=input_grad,
        features=feats.get("x"),
        logits_shape=tuple(logits.shape),
        loss=float(loss.detach()),
        relu_modules=relu_count["n"],
        extra={"grad_graph": ([m.weight for m in weighted], list(grads))} if keep_grad_graph else {},
    )
