"""scikit-learn's 1,797 real 8×8 handwritten digits: ships inside the wheel, so it needs no download."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch.utils.data import Dataset, TensorDataset

from torchx.datasets.base import DataModule, split_three
from torchx.datasets.tools import register
from torchx.registry import ArgError, require


@register("digits")
class Digits(DataModule):
    """Images as float tensors (1, 8, 8) scaled to [0, 1], labels 0-9."""

    def __init__(self, val_fraction: float = 0.15, test_fraction: float = 0.15, split_seed: int = 0,
                 **loader_args: Any) -> None:
        super().__init__(**loader_args)
        self.val_fraction, self.test_fraction, self.split_seed = val_fraction, test_fraction, split_seed

    @classmethod
    def check_args(cls, args: Mapping[str, Any]) -> None:
        super().check_args(args)
        defaults = inspect.signature(cls).parameters
        val, test = (args.get(k, defaults[k].default) for k in ("val_fraction", "test_fraction"))
        for key in ("val_fraction", "test_fraction"):
            require(args, key, lambda v: 0 <= v < 1, "must be a fraction from 0.0 to below 1.0")
        if val + test >= 1:
            raise ArgError("test_fraction", test, f"with val_fraction {val} leaves no training data")

    def load(self) -> tuple[Dataset[Any], Dataset[Any], Dataset[Any]]:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
        labels = torch.tensor(bunch.target, dtype=torch.long)
        return split_three(TensorDataset(images, labels), self.val_fraction, self.test_fraction,
                           self.split_seed)
