"""`GracefulStop`: ends `fit` within a few steps when a stop signal arrived on any rank.

Under DDP the ranks agree on the decision every `SYNC_EVERY` batches (one tiny all-reduce, a host-device
sync on GPU: not worth paying every step), so every rank leaves the loop at the same step and no
collective is left hanging; `last.ckpt` is then written by all ranks. One process checks every step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from torchx.stopping import StopRequest

SYNC_EVERY = 8


class GracefulStop(pl.Callback):
    def __init__(self, stop: StopRequest, last_ckpt: Path,
                 on_saved: Callable[[pl.Trainer, str, str | None, float | None], None]) -> None:
        self.stop, self.last_ckpt, self.on_saved = stop, last_ckpt, on_saved
        self.stopped = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.stop.install()  # Lightning installs its own SIGTERM handler just before this hook

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        requested = self.stop.requested
        if trainer.world_size > 1:
            if batch_idx % SYNC_EVERY:
                return
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if requested:
            self.stopped = True
            trainer.should_stop = True

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.stopped:
            trainer.save_checkpoint(self.last_ckpt)
            self.on_saved(trainer, str(self.last_ckpt), None, None)
