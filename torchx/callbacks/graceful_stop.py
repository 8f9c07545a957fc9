"""`GracefulStop`: ends `fit` within a few steps when a stop signal arrived on any rank.

Under DDP the ranks agree on the decision every `SYNC_EVERY` batches (one tiny all-reduce, a host-device
sync on GPU: not worth paying every step), so every rank leaves the loop at the same step and no
collective is left hanging; `last.ckpt` is then written by all ranks. One process checks every step.

A stop inside an epoch saves `last.ckpt` at once, at the end of the batch: Lightning resumes such a
checkpoint at the next batch (the train loader's state, `torchx.resumable`, skips the trained ones).
The cut epoch has no end: no validation, no `epoch` event, no epoch-end checkpoint (`epoch_cut`). A
stop on an epoch's last batch lets the epoch end as usual and saves `last.ckpt` after it.
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
        self.cut = False  # the stop came inside an epoch

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.stop.install()  # Lightning installs its own SIGTERM handler just before this hook

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        requested = self.stop.requested
        if trainer.world_size > 1:
            if batch_idx % SYNC_EVERY:
                return
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if not requested:
            return
        self.stopped = trainer.should_stop = True
        if batch_idx + 1 < trainer.num_training_batches:
            self.cut = True
            self._save(trainer)
            trainer.limit_val_batches = 0  # Lightning validates when `should_stop` is set; not a cut epoch

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.stopped and not self.cut:
            self._save(trainer)

    def _save(self, trainer: pl.Trainer) -> None:
        trainer.save_checkpoint(self.last_ckpt)
        self.on_saved(trainer, str(self.last_ckpt), None, None)


def epoch_cut(trainer: pl.Trainer) -> bool:
    """True once a stop cut the current epoch short: a resume trains the rest of it, so it has no end."""
    callbacks = trainer.callbacks  # type: ignore[attr-defined]  # set in Trainer.__init__, undeclared
    return any(isinstance(cb, GracefulStop) and cb.cut for cb in callbacks)
