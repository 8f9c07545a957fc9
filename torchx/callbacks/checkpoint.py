"""`TorchxCheckpoint`: Lightning's ModelCheckpoint that also reports each save as a `ckpt` event."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from torchx.callbacks.logger import BaseLogger


class TorchxCheckpoint(ModelCheckpoint):
    """Always keeps `last.ckpt` (resume reads it); Lightning writes every file atomically."""

    def __init__(self, logger: BaseLogger, **kwargs: Any) -> None:
        kwargs["save_last"] = True
        super().__init__(**kwargs)
        self._logger = logger

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        score = self.current_score
        value = float(score) if score is not None else None
        self._logger.on_checkpoint_saved(trainer, filepath, self.monitor, value)
