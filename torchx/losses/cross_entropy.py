"""Cross-entropy over class logits (optionally label-smoothed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from torchx.losses.tools import register
from torchx.registry import require


@register("cross_entropy")
class CrossEntropy(nn.CrossEntropyLoss):
    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__(label_smoothing=label_smoothing)

    @staticmethod
    def check_args(args: Mapping[str, Any]) -> None:
        require(args, "label_smoothing", lambda v: 0 <= v <= 1, "must be from 0.0 to 1.0")
