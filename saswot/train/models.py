"""Model names → segmentation networks, and the self-describing :class:`ModelSpec`.

A :class:`ModelSpec` (model name, arch JSON for searched networks, number of classes) is stored
in every checkpoint, so a checkpoint can be rebuilt without any other input.

Built-in names (in :data:`MODELS`):
* any architecture of a search space with a segmenter search (:mod:`saswot.spaces`): a
  built-in name (the released FasterSeg student) or an arch JSON file, stored as ``<space>-arch``.
* ``deeplabv3plus-r101``: the distillation teacher (:mod:`saswot.train.deeplab`).
* ``tiny``: a 3-stage conv net with two auxiliary heads, for tests and smoke runs.

"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from saswot.errors import InvalidArchError, SaswotError, unknown_model_error
from saswot.registry import Registry
from saswot.runtime.seeding import torch_seed
from saswot.spaces import REGISTRY, SEGMENTER_SEARCH, get_space
from saswot.spaces.base import TrainableSpace
from saswot.train.deeplab import DeepLabV3Plus


@dataclass(frozen=True)
class ModelSpec:
    """What is needed to rebuild a network.

    Attributes:
        name: ``<space>-arch`` for an architecture of a search space, else a registered model name.
        num_classes: number of output classes.
        arch: the arch JSON (dict) for ``<space>-arch``; ``None`` otherwise.
    """

    name: str
    num_classes: int
    arch: dict[str, Any] | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (stored in checkpoints and configs)."""
        return {"name": self.name, "num_classes": self.num_classes, "arch": self.arch}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ModelSpec:
        """Inverse of :meth:`to_json`."""
        return cls(str(d["name"]), int(d["num_classes"]), d.get("arch"))


Builder = Callable[[ModelSpec, bool], nn.Module]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its name and its ``builder(spec, aux_heads) -> nn.Module``."""

    name: str
    build: Builder


def _entry_name(entry: ModelEntry) -> str:
    return entry.name


def _unknown_model(name: str, valid: list[str]) -> str:
    return f"unknown model '{name}'; choose one of {', '.join(valid)} or give an arch JSON file."


class ModelRegistry(Registry[ModelEntry]):
    """The training models: a :class:`saswot.registry.Registry` of builders (names sorted)."""

    def __init__(self) -> None:
        super().__init__("model", key=_entry_name, sort_names=True, unknown=_unknown_model)

    def register(self, name: str) -> Callable[[Builder], Builder]:
        """Decorator registering ``builder(spec, aux_heads) -> nn.Module`` under ``name``."""

        def deco(fn: Builder) -> Builder:
            self.add(ModelEntry(name, fn))
            return fn

        return deco

    def builder(self, name: str) -> Builder:
        """The builder for ``name`` (UnknownNameError otherwise)."""
        return self.get(name).build


MODELS = ModelRegistry()


class TinySegNet(nn.Module):
    """A small 3-stage encoder (strides 4/8/16) + head, with two auxiliary heads in training.

    Returns N×K×H×W logits; in training mode with ``aux_heads`` it returns
    ``(main, aux16, aux8)``, all upsampled to the input size.
    """

    def __init__(self, num_classes: int, width: int = 8, aux_heads: bool = False) -> None:
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
            )

        w = width
        self.s4 = nn.Sequential(block(3, w, 2), block(w, w, 2))
        self.s8 = block(w, 2 * w, 2)
        self.s16 = block(2 * w, 4 * w, 2)
        self.fuse = block(2 * w + 4 * w, 2 * w, 1)
        self.head = nn.Conv2d(2 * w, num_classes, 1)
        self.aux_heads = aux_heads
        if aux_heads:
            self.aux16 = nn.Conv2d(4 * w, num_classes, 1)
            self.aux8 = nn.Conv2d(2 * w, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        size = x.shape[-2:]
        f8 = self.s8(self.s4(x))
        f16 = self.s16(f8)
        up = F.interpolate(f16, size=f8.shape[-2:], mode="bilinear", align_corners=False)
        out = F.interpolate(
            self.head(self.fuse(torch.cat([f8, up], 1))), size=size, mode="bilinear", align_corners=False
        )
        if self.aux_heads and self.training:
            a16 = F.interpolate(self.aux16(f16), size=size, mode="bilinear", align_corners=False)
            a8 = F.interpolate(self.aux8(f8), size=size, mode="bilinear", align_corners=False)
            return out, a16, a8
        return out


@MODELS.register("tiny")
def _build_tiny(spec: ModelSpec, aux_heads: bool) -> nn.Module:
    return TinySegNet(spec.num_classes, width=8, aux_heads=aux_heads)


@MODELS.register("deeplabv3plus-r101")
def _build_deeplab(spec: ModelSpec, aux_heads: bool) -> nn.Module:

    return DeepLabV3Plus(spec.num_classes)


#: Model names of architectures of a search space: ``<space>-arch`` (e.g. ``fasterseg-arch``).
ARCH_SUFFIX = "-arch"


def _trainable_spaces() -> list[Any]:
    """Search spaces whose architectures are trainable segmenters (those with ``segmenter-search``)."""

    return [REGISTRY.get(n) for n in REGISTRY.names(SEGMENTER_SEARCH)]


def _build_space_arch(spec: ModelSpec, aux_heads: bool) -> nn.Module:
    """Build ``<space>-arch``: the space reads the stored arch JSON and builds the network."""

    space = get_space(spec.name[: -len(ARCH_SUFFIX)], SEGMENTER_SEARCH)
    if spec.arch is None:
        raise InvalidArchError(f"model '{spec.name}' needs an arch JSON.")
    if not isinstance(space, TrainableSpace):
        raise InvalidArchError(f"space '{space.name}' cannot build networks for training")
    arch = space.from_json(spec.arch)
    net: nn.Module = space.build_for_training(arch, num_classes=spec.num_classes, aux_heads=aux_heads)
    return net


def resolve_model(name_or_path: str, num_classes: int) -> ModelSpec:
    """Turn a CLI model argument into a :class:`ModelSpec`.

    A registered model name is used as is. Anything else is offered to the search spaces with a
    segmenter search (a built-in architecture name such as ``fasterseg``, or an arch JSON file):
    the first that reads it gives a ``<space>-arch`` spec carrying the arch JSON, so the resulting
    checkpoint depends neither on the built-in definition nor on the file.
    """

    if name_or_path in MODELS:
        return ModelSpec(name_or_path, num_classes)
    spaces = _trainable_spaces()
    errors: list[SaswotError] = []
    for space in spaces:
        try:
            arch = space.parse(name_or_path)
        except SaswotError as exc:
            errors.append(exc)
            continue
        return ModelSpec(f"{space.name}{ARCH_SUFFIX}", num_classes, json.loads(json.dumps(space.to_json(arch))))
    if errors and Path(name_or_path).is_file():
        raise errors[0]  # a file that no space reads: say why
    if name_or_path.endswith(".json"):
        raise InvalidArchError(
            f"arch file '{name_or_path}' does not exist or is not an architecture; give a path to an arch JSON."
        )

    builtin = [n for sp in spaces for n in getattr(sp, "builtin_names", list)()]
    raise unknown_model_error(name_or_path, builtin + MODELS.names())


def build_model(spec: ModelSpec, aux_heads: bool = False, seed: int | None = 0) -> nn.Module:
    """Build the network of ``spec``; with a seed, weights are reproducible (global RNG untouched)."""
    builder = (
        _build_space_arch if spec.name.endswith(ARCH_SUFFIX) and spec.name not in MODELS else MODELS.builder(spec.name)
    )
    if seed is None:
        return builder(spec, aux_heads)
    with torch_seed(seed):
        return builder(spec, aux_heads)
