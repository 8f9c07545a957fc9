"""A small VGG-style convolutional classifier: a cheap baseline between the MLP and ResNet-18."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from torchx.models.tools import register
from torchx.registry import require_positive


@register("cnn")
class SmallCNN(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 32, blocks: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for i in range(blocks):
            out = width * 2**i
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                       nn.Conv2d(out, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                       nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))

    @staticmethod
    def check_args(args: Mapping[str, Any]) -> None:
        require_positive(args, "in_channels", "num_classes", "width", "blocks")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
