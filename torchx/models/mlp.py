"""A multi-layer perceptron over flattened inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from torchx.models.tools import register
from torchx.registry import require, require_positive


def is_activation(name: Any) -> bool:
    """A `torch.nn` module class by name (ReLU, GELU, LeakyReLU, ...)."""
    cls = getattr(nn, name, None) if isinstance(name, str) else None
    return isinstance(cls, type) and issubclass(cls, nn.Module)


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

    @staticmethod
    def check_args(args: Mapping[str, Any]) -> None:
        require_positive(args, "in_dim", "out_dim", "hidden")
        require(args, "dropout", lambda v: 0 <= v < 1, "must be from 0.0 to below 1.0")
        require(args, "activation", is_activation, "must name a torch.nn activation such as ReLU or GELU")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
