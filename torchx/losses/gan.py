"""Adversarial losses for the `gan` wrapper: each maps discriminator logits to the two players' losses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from torchx.losses.tools import register
from torchx.registry import require


class GanLoss(nn.Module):
    """`d_loss` is what the discriminator minimises, `g_loss` what the generator minimises."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@register("gan_bce")
class NonSaturatingLoss(GanLoss):
    """Binary cross-entropy; the generator maximises log D(G(z)), which keeps its gradient alive early on.

    `real_label` below 1 is one-sided label smoothing: it keeps the discriminator from growing overconfident.
    """

    def __init__(self, real_label: float = 1.0) -> None:
        super().__init__()
        self.real_label = real_label

    @staticmethod
    def check_args(args: Mapping[str, Any]) -> None:
        require(args, "real_label", lambda v: 0 < v <= 1, "must be above 0.0 and at most 1.0")

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, self.real_label))
        return real + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


@register("gan_hinge")
class HingeLoss(GanLoss):
    """The hinge loss of SAGAN / BigGAN: the discriminator stops pushing once a margin of 1 is reached."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()
