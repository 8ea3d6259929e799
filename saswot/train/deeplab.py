"""DeepLabv3+ with a ResNet-101 backbone (output stride 16), the SasWOT distillation teacher.

Backbone: ``torchvision.models.resnet101(weights=None)`` with the last stage dilated
(output stride 16); ASPP from torchvision (rates 6/12/18); v3+ decoder fusing the upsampled
ASPP output with 48 projected channels of the stride-4 low-level features. Trained from
scratch (no pretrained weights are downloaded).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet101
from torchvision.models.segmentation.deeplabv3 import ASPP


def _conv_bn_relu(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class DeepLabV3Plus(nn.Module):
    """DeepLabv3+ (ResNet-101, OS 16). Output: N×K×H×W logits at input size.

    Args:
        num_classes: number of classes.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        backbone = resnet101(weights=None, replace_stride_with_dilation=[False, False, True])
        self.stem = nn.Sequential(backbone.conv1, backbone.bn1, backbone.relu, backbone.maxpool)
        self.layer1, self.layer2 = backbone.layer1, backbone.layer2
        self.layer3, self.layer4 = backbone.layer3, backbone.layer4
        self.aspp = ASPP(2048, [6, 12, 18], out_channels=256)
        self.low_proj = _conv_bn_relu(256, 48, 1)
        self.decoder = nn.Sequential(_conv_bn_relu(256 + 48, 256, 3), _conv_bn_relu(256, 256, 3))
        self.classifier = nn.Conv2d(256, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        low = self.layer1(self.stem(x))
        high = self.aspp(self.layer4(self.layer3(self.layer2(low))))
        high = F.interpolate(high, size=low.shape[-2:], mode="bilinear", align_corners=False)
        y = self.decoder(torch.cat([high, self.low_proj(low)], dim=1))
        return F.interpolate(self.classifier(y), size=size, mode="bilinear", align_corners=False)
