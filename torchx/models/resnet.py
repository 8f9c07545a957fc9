"""torchvision's ResNet-18, adapted to small images: a 3×3 stem with stride 1 and no max-pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torchvision.models import resnet18

from torchx.models.tools import register
from torchx.registry import require_positive


@register("resnet18")
class ResNet18(nn.Module):
    """Keeps spatial resolution early so 8×8 and 28×28 inputs still reach the last stage."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        net = resnet18(weights=None, num_classes=num_classes)
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
        self.net = net

    @staticmethod
    def check_args(args: Mapping[str, Any]) -> None:
        require_positive(args, "in_channels", "num_classes")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
