"""Cross-entropy over class logits (optionally label-smoothed)."""

from __future__ import annotations

from torch import nn

from torchx.losses.tools import register


@register("cross_entropy")
class CrossEntropy(nn.CrossEntropyLoss):
    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__(label_smoothing=label_smoothing)
