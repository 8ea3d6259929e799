"""Model names → segmentation networks, and the self-describing :class:`ModelSpec`.

A :class:`ModelSpec` (model name, arch JSON for searched networks, number of classes) is stored
in every checkpoint, so a checkpoint can be rebuilt without any other input.

Built-in names (in :data:`MODELS`):
* ``fasterseg``: the released FasterSeg student, via :func:`saswot.fasterseg.load_arch`.
* ``deeplabv3plus-r101``: the distillation teacher (:mod:`saswot.train.deeplab`).
* ``tiny``: a 3-stage conv net with two auxiliary heads, for tests and smoke runs.

Any other argument that names an existing file is read as a FasterSeg arch JSON.
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

from saswot.errors import InvalidArchError, UnknownNameError
from saswot.seeding import torch_seed


@dataclass(frozen=True)
class ModelSpec:
    """What is needed to rebuild a network.

    Attributes:
        name: ``fasterseg-arch`` for a searched FasterSeg genome, else a built-in name.
        num_classes: number of output classes.
        arch: the arch JSON (dict) for ``fasterseg-arch``; ``None`` otherwise.
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


class ModelRegistry:
    """Explicit name → builder registry; rejects duplicate names."""

    def __init__(self) -> None:
        self._builders: dict[str, Builder] = {}

    def register(self, name: str) -> Callable[[Builder], Builder]:
        """Decorator registering ``builder(spec, aux_heads) -> nn.Module`` under ``name``."""

        def deco(fn: Builder) -> Builder:
            if name in self._builders:
                raise ValueError(f"model '{name}' is already registered")
            self._builders[name] = fn
            return fn

        return deco

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._builders)

    def __contains__(self, name: object) -> bool:
        return name in self._builders

    def builder(self, name: str) -> Builder:
        """The builder for ``name`` (UnknownNameError otherwise)."""
        try:
            return self._builders[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown model '{name}'; choose one of {', '.join(self.names())} or give an arch JSON file."
            ) from None


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
    from saswot.train.deeplab import DeepLabV3Plus

    return DeepLabV3Plus(spec.num_classes)


def _fasterseg_api() -> Any:
    try:
        import saswot.fasterseg as fs
    except ImportError as exc:  # the FasterSeg package is part of saswot; this guards partial installs
        raise UnknownNameError(f"the FasterSeg builder (saswot.fasterseg) is unavailable: {exc}") from exc
    if not hasattr(fs, "load_arch") or not hasattr(fs, "build_network"):
        raise UnknownNameError("saswot.fasterseg does not provide load_arch/build_network yet.")
    return fs


@MODELS.register("fasterseg-arch")
def _build_fasterseg(spec: ModelSpec, aux_heads: bool) -> nn.Module:
    fs = _fasterseg_api()
    if spec.arch is None:
        raise InvalidArchError("model 'fasterseg-arch' needs an arch JSON.")
    arch = fs.FasterSegArch.from_json(spec.arch)
    return fs.build_network(arch, num_classes=spec.num_classes, aux_heads=aux_heads)


def resolve_model(name_or_path: str, num_classes: int) -> ModelSpec:
    """Turn a CLI model argument into a :class:`ModelSpec`.

    ``fasterseg`` and arch JSON paths become ``fasterseg-arch`` specs carrying the arch JSON,
    so the resulting checkpoint does not depend on the built-in definition or the file.
    """
    if name_or_path in MODELS and name_or_path != "fasterseg-arch":
        return ModelSpec(name_or_path, num_classes)
    if name_or_path == "fasterseg" or Path(name_or_path).is_file():
        fs = _fasterseg_api()
        arch = fs.load_arch(name_or_path)
        return ModelSpec("fasterseg-arch", num_classes, json.loads(json.dumps(arch.to_json())))
    if name_or_path.endswith(".json"):
        raise InvalidArchError(f"arch file '{name_or_path}' does not exist; give a path to an arch JSON.")
    raise UnknownNameError(
        f"unknown model '{name_or_path}'; choose fasterseg, "
        f"{', '.join(n for n in MODELS.names() if n != 'fasterseg-arch')} or an arch JSON file."
    )


def build_model(spec: ModelSpec, aux_heads: bool = False, seed: int | None = 0) -> nn.Module:
    """Build the network of ``spec``; with a seed, weights are reproducible (global RNG untouched)."""
    builder = MODELS.builder(spec.name)
    if seed is None:
        return builder(spec, aux_heads)
    with torch_seed(seed):
        return builder(spec, aux_heads)
