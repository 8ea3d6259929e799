"""Helpers shared by the proxies that run their own pass over every layer (meco, zico, swap, az_*).

The shared statistics pass keeps a bounded sample of Conv2d / Linear outputs and gradients of
Conv2d / Linear weights only; the proxies of this family need whole feature maps, the transposed
convolutions of a segmentation decoder too, or several mini-batches, so they run their own
forward on the private copy (``ctx.work_copy()``), never writing to its weights.
"""

from __future__ import annotations

from torch import nn

#: Layers whose outputs and weights these proxies read: encoder and decoder convolutions
#: (transposed ones included) and linear layers.
FEATURE_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def feature_layers(model: nn.Module) -> list[nn.Module]:
    """Conv2d / ConvTranspose2d / Linear modules of ``model`` in module order."""
    return [m for m in model.modules() if isinstance(m, FEATURE_LAYERS)]


def is_relu(module: nn.Module) -> bool:
    """True for ReLU-type modules (class name contains ``ReLU``), the NWOT convention."""
    return "ReLU" in type(module).__name__


def primary_blocks(model: nn.Module) -> list[nn.Module]:
    """The network's blocks: children of an ``nn.Sequential`` that hold at least one layer below them.

    A child that is itself a single layer (a conv of a plain conv-BN-ReLU sequence) does not count,
    so for a TransNAS-Bench-101 network the blocks are the encoder cells / residual blocks and the
    decoder's conv-BN-activation layers; only the outermost matches are kept. A model without such
    a container falls back to its Conv2d / ConvTranspose2d / Linear layers.
    """
    blocks: list[nn.Module] = []
    inside: set[int] = set()
    for m in model.modules():
        if id(m) in inside or not isinstance(m, nn.Sequential):
            continue
        for child in m.children():
            has_layer = any(isinstance(s, FEATURE_LAYERS) for s in child.modules())
            if has_layer and any(True for _ in child.children()):
                blocks.append(child)
                inside.update(id(s) for s in child.modules())
    return blocks or feature_layers(model)
