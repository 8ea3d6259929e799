"""Build the TransNAS-Bench-101 ``segmentsemantic`` network of an architecture.

Network = encoder (stem + modules of two cells/blocks each) → 8-layer decoder → 17-class logits,
as in TransNAS-Bench-101 / NASLib (see ``docs/tnb101.md`` for the layer-by-layer description).
Parameter and FLOP counts of the built model reproduce NAS-Bench-Suite-Zero's records.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from saswot.runtime.seeding import torch_seed
from saswot.spaces.tnb101.encoding import MICRO_EDGES, MacroArch, MicroArch, TNBArch, parse_arch
from saswot.spaces.tnb101.ops import ReLUConvBN, make_micro_op
from saswot.utils.nn_init import kaiming_init_

STEM_CHANNELS = 64
DECODER_CHANNELS: tuple[int, ...] = (1024, 512, 256, 128, 64, 32, 32)
LEAKY_SLOPE = 0.2


class Stem(nn.Sequential):
    """Conv3x3(3→32, s2) → BN → ReLU → Conv3x3(32→64, s2) → BN: total stride 4."""

    def __init__(self, c_out: int = STEM_CHANNELS) -> None:
        half = c_out // 2
        super().__init__(
            nn.Conv2d(3, half, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(half, affine=True),
            ReLUConvBN(half, c_out, 3, stride=2),
        )


class MicroCell(nn.Module):
    """Four-node DAG cell; node j = sum of op(i→j)(node i) over i < j; output = node 3.

    Edges leaving node 0 map ``c_in → c_out`` with ``stride``; the others ``c_out → c_out``, stride 1.
    Every edge is built and run, whatever its op.
    """

    def __init__(self, ops: tuple[int, ...], c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.edge_list = MICRO_EDGES
        self.edges = nn.ModuleList(
            make_micro_op(code, c_in if src == 0 else c_out, c_out, stride if src == 0 else 1)
            for (src, _dst), code in zip(MICRO_EDGES, ops)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the DAG and return node 3."""
        nodes: list[torch.Tensor] = [x]
        for dst in (1, 2, 3):
            total: torch.Tensor | None = None
            for (src, d), op in zip(self.edge_list, self.edges):
                if d != dst:
                    continue
                y = op(nodes[src])
                total = y if total is None else total + y
            assert total is not None
            nodes.append(total)
        return nodes[3]


class ResNetBasicBlock(nn.Module):
    """out = shortcut(x) + B(A(x)); A, B = ReLU-Conv3x3-BN; projection shortcut Conv1x1 → BN.

    The shortcut BatchNorm reproduces the benchmark's quirk (its BN was built with positional
    ``affine, track_running_stats`` arguments landing on ``eps`` and ``momentum``): eps = 1.0 and
    momentum = 1.0. This only affects training behaviour, not parameter or FLOP counts.
    """

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample: nn.Module | None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, padding=0, bias=False),
                nn.BatchNorm2d(c_out, eps=1.0, momentum=1.0, affine=True, track_running_stats=True),
            )
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual block forward."""
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


class Encoder(nn.Module):
    """Stem followed by one module (two cells or blocks) per macro code digit.

    Attributes:
        out_channels: channels of the encoder output.
        num_downsample: number of stride-2 modules (total stride = 4 · 2**num_downsample).
    """

    def __init__(self, arch: TNBArch) -> None:
        super().__init__()
        self.stem = Stem(STEM_CHANNELS)
        layers: list[nn.Module] = []
        c = STEM_CHANNELS
        for digit in arch.macro_code:
            c_out = 2 * c if digit in (2, 4) else c
            stride = 2 if digit in (3, 4) else 1
            for i in range(2):
                c_in, s = (c, stride) if i == 0 else (c_out, 1)
                if isinstance(arch, MicroArch):
                    layers.append(MicroCell(arch.ops, c_in, c_out, s))
                else:
                    layers.append(ResNetBasicBlock(c_in, c_out, s))
            c = c_out
        self.layers = nn.Sequential(*layers)
        self.out_channels = c
        self.num_downsample = sum(1 for d in arch.macro_code if d in (3, 4))
        self._init_weights()

    def _init_weights(self) -> None:
        kaiming_init_(self, mode="fan_out")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the encoder feature map."""
        return self.layers(self.stem(x))


def _conv_layer(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=1, padding=1, bias=True),
        nn.BatchNorm2d(c_out, affine=True),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=False),
    )


def _deconv_layer(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=True),
        nn.BatchNorm2d(c_out, affine=True),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=False),
    )


class SegmentationDecoder(nn.Module):
    """Eight layers: Conv(C_enc→1024); six layers to 512, 256, 128, 64, 32, 32 channels of which
    the last ``num_upsample`` are ×2 transposed convolutions; Conv3x3(32→num_classes).

    Layers 1–7 are Conv → BN → LeakyReLU(0.2); the classifier has no BN/activation. PyTorch
    default initialisation (as in the benchmark).
    """

    def __init__(self, c_enc: int, num_upsample: int, num_classes: int = 17) -> None:
        super().__init__()
        if not 0 <= num_upsample <= 6:
            raise ValueError(f"num_upsample must be in 0..6, got {num_upsample}")
        chans = (c_enc,) + DECODER_CHANNELS
        layers: list[nn.Module] = [_conv_layer(chans[0], chans[1])]
        n_plain = 6 - num_upsample
        for i in range(6):
            c_in, c_out = chans[i + 1], chans[i + 2]
            layers.append(_conv_layer(c_in, c_out) if i < n_plain else _deconv_layer(c_in, c_out))
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(DECODER_CHANNELS[-1], num_classes, 3, stride=1, padding=1, bias=True)
        self.num_upsample = num_upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits."""
        return self.classifier(self.layers(x))


class TNBSegmentationNet(nn.Module):
    """Encoder + decoder for one TransNAS-Bench-101 architecture.

    ``model.classifier`` is the final 32→num_classes conv (the module inside the decoder); its
    input is the pre-classifier feature map. If the input size is not a multiple of the total
    stride, the logits are bilinearly resized to the input size (a no-op for 256×256, so the
    benchmark's counts are unaffected).

    Attributes:
        arch: the architecture.
        encoder: :class:`Encoder`.
        decoder: :class:`SegmentationDecoder`.
    """

    def __init__(self, arch: TNBArch, num_classes: int = 17) -> None:
        super().__init__()
        self.arch = arch
        self.encoder = Encoder(arch)
        # Benchmark rule: number of x2 upsamplings from the nominal width for a 224 input,
        # int(log2(256 / (56 // 2**p))) = p + 2, i.e. exactly the encoder's total stride.
        self.decoder = SegmentationDecoder(self.encoder.out_channels, self.encoder.num_downsample + 2, num_classes)

    @property
    def classifier(self) -> nn.Conv2d:
        """The final classification conv (same module as ``decoder.classifier``)."""
        return self.decoder.classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map N×3×H×W images to N×num_classes×H×W logits."""
        out = self.decoder(self.encoder(x))
        if out.shape[-2:] != x.shape[-2:]:
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return out


def build_network(
    arch: TNBArch | str,
    num_classes: int = 17,
    seed: int | None = None,
    device: torch.device | str | None = None,
) -> TNBSegmentationNet:
    """Build the segmentsemantic network of a TransNAS-Bench-101 architecture.

    Args:
        arch: a :class:`MicroArch`/:class:`MacroArch`, or an official string (keys valid in both
            spaces must be parsed with an explicit space first).
        num_classes: output classes (17 in the benchmark).
        seed: if given, initialisation is deterministic for this seed (torch's global RNG is
            forked and restored).
        device: build the parameters on this device; ``"meta"`` builds a shape-only model (no
            memory, instant), e.g. for counting.

    Returns:
        The model (training mode); input N×3×H×W, output N×num_classes×H×W logits.
    """
    a = parse_arch(arch) if isinstance(arch, str) else arch
    if not isinstance(a, (MicroArch, MacroArch)):
        raise TypeError(f"arch must be a MicroArch, MacroArch or string, got {type(arch).__name__}")

    def _build() -> TNBSegmentationNet:
        if device is None:
            return TNBSegmentationNet(a, num_classes)
        with torch.device(device):
            return TNBSegmentationNet(a, num_classes)

    if seed is None:
        return _build()
    with torch_seed(seed):
        return _build()
