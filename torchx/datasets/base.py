"""The data-module interface both entries use: train / val / test loaders, built lazily.

Deliberately a plain class, not a LightningDataModule, so the plain-PyTorch entry never imports
Lightning; the Lightning entry passes the loaders to `Trainer.fit`, which adds distributed samplers.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, random_split

from torchx.registry import require, require_positive

WORKERS_PER_CORE = 4  # more loader processes than this per core only thrash


def _ignore_sigint(_worker_id: int) -> None:
    """Loader workers ignore SIGINT: a stop sent to the process group is handled by the trainer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class DataModule:
    """Subclasses implement `load()` returning (train, val, test) datasets; `validate()` checks inputs.

    `check_args` (values, from the config) and `validate()` (files) run before the run directory is
    created, so a zero batch size or a missing file never leaves a half-made run.
    """

    def __init__(self, batch_size: int = 64, num_workers: int = 0, eval_batch_size: int | None = None,
                 pin_memory: bool = False) -> None:
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self._splits: tuple[Dataset[Any], Dataset[Any], Dataset[Any]] | None = None

    @classmethod
    def check_args(cls, args: Mapping[str, Any]) -> None:
        """Raise ArgError for a value the loaders would reject only once training starts."""
        require_positive(args, "batch_size")
        require(args, "eval_batch_size", lambda v: v is None or v > 0, "must be a positive integer")
        cap = WORKERS_PER_CORE * (os.cpu_count() or 1)
        require(args, "num_workers", lambda v: 0 <= v <= cap, f"must be from 0 to {cap} on this machine")

    def validate(self) -> None:
        """Raise a `UserError` naming what is missing; the default needs nothing."""

    def load(self) -> tuple[Dataset[Any], Dataset[Any], Dataset[Any]]:
        raise NotImplementedError

    @property
    def splits(self) -> tuple[Dataset[Any], Dataset[Any], Dataset[Any]]:
        if self._splits is None:
            self._splits = self.load()
        return self._splits

    def _loader(self, dataset: Dataset[Any], train: bool) -> DataLoader[Any]:
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            drop_last=False,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=_ignore_sigint if self.num_workers > 0 else None,
        )

    def train_dataloader(self) -> DataLoader[Any]:
        return self._loader(self.splits[0], train=True)

    def val_dataloader(self) -> DataLoader[Any]:
        return self._loader(self.splits[1], train=False)

    def test_dataloader(self) -> DataLoader[Any]:
        return self._loader(self.splits[2], train=False)


def split_three(dataset: Dataset[Any], val_fraction: float, test_fraction: float,
                split_seed: int = 0) -> tuple[Dataset[Any], Dataset[Any], Dataset[Any]]:
    """A fixed train/val/test split: the same for every run and every rank, whatever the run's seed."""
    n = len(dataset)  # type: ignore[arg-type]
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    lengths = [n - n_val - n_test, n_val, n_test]
    train, val, test = random_split(dataset, lengths, generator=torch.Generator().manual_seed(split_seed))
    return train, val, test
