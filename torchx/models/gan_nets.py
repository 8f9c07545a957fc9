"""A generator and a discriminator for small images, optionally conditioned on a class label.

Both are MLPs (`torchx.models.mlp.MLP`) over flattened pixels; a conditional pair (`num_classes > 0`)
appends a learned label embedding to the input. The GAN wrapper reads `latent_dim` and `num_classes`
from the generator, so a config states them once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from torchx.models.mlp import MLP
from torchx.models.tools import register
from torchx.registry import require, require_positive


def _check_net(args: Mapping[str, Any]) -> None:
    """What both nets take: hidden widths, an optional class condition, dropout (the discriminator)."""
    require_positive(args, "hidden", "embed_dim")
    require(args, "num_classes", lambda v: v >= 0, "must be 0 (unconditional) or a number of classes")
    require(args, "dropout", lambda v: 0 <= v < 1, "must be from 0.0 to below 1.0")


class _LabelInput(nn.Module):
    """Flattened input, with the label's embedding appended when the net is conditional."""

    def __init__(self, num_classes: int, embed_dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.extra_dim = embed_dim if num_classes else 0

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        flat = x.flatten(1)
        if self.embed is None:
            return flat
        if labels is None:
            raise ValueError(f"this net is conditional on {self.num_classes} classes: pass labels")
        return torch.cat([flat, self.embed(labels)], dim=1)


@register("mlp_generator")
class MLPGenerator(nn.Module):
    """Noise `(N, latent_dim)` (+ labels) → images `(N, *out_shape)` in [0, 1]."""

    def __init__(self, out_shape: list[int], latent_dim: int = 32, hidden: list[int] | None = None,
                 num_classes: int = 0, embed_dim: int = 16) -> None:
        super().__init__()
        self.out_shape, self.latent_dim, self.num_classes = tuple(out_shape), latent_dim, num_classes
        self.input = _LabelInput(num_classes, embed_dim)
        self.body = MLP(latent_dim + self.input.extra_dim, math.prod(out_shape), hidden or [128, 256])

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.body(self.input(z, labels))).view(-1, *self.out_shape)

    @staticmethod
    def check_args(args: Mapping[str, Any]) -> None:
        require_positive(args, "out_shape", "latent_dim")
        _check_net(args)


@register("mlp_discriminator")
class MLPDiscriminator(nn.Module):
    """Images (+ labels) → one logit per image: real (high) or generated (low)."""

    def __init__(self, in_shape: list[int], hidden: list[int] | None = None, num_classes: int = 0,
                 embed_dim: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.input = _LabelInput(num_classes, embed_dim)
        self.body = MLP(math.prod(in_shape) + self.input.extra_dim, 1, hidden or [256, 128], dropout=dropout,
                        activation="LeakyReLU")

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(self.input(x, labels)).squeeze(1)

    @staticmethod
    def check_args(args: Mapping[str, Any]) -> None:
        require_positive(args, "in_shape")
        _check_net(args)
