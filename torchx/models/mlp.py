"""A multi-layer perceptron over flattened inputs."""

from __future__ import annotations

import torch
from torch import nn

from torchx.models.tools import register


@register("mlp")
class MLP(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden: list[int] | None = None, dropout: float = 0.0,
                 activation: str = "ReLU") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        last = in_dim
        for width in hidden or []:
            layers += [nn.Linear(last, width), getattr(nn, activation)()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            last = width
        layers.append(nn.Linear(last, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
