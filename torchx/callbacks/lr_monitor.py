"""`lr_monitor`: logs each optimizer's learning rate as a `train/` metric at every training step.

Unlike Lightning's LearningRateMonitor, which writes only to the logger, the value goes through
`LightningModule.log`, so it also reaches `events.jsonl` (step and epoch events), log.txt and TensorBoard.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from torchx.callbacks.tools import register


def optimizer_metric(name: str, trainer: pl.Trainer, index: int) -> str:
    """`train/<name>` for a single optimizer, `train/<name>_<label>` with several.

    The label is the module's `optimizer_names[index]` when it has them (the GAN wrapper: g, d), else
    the optimizer's position.
    """
    if len(trainer.optimizers) == 1:
        return f"train/{name}"
    labels = getattr(trainer.lightning_module, "optimizer_names", None)
    return f"train/{name}_{labels[index] if labels else index}"


@register("lr_monitor")
class LearningRateMonitor(pl.Callback):
    """One metric per optimizer (its first parameter group's rate)."""

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        for index, optimizer in enumerate(trainer.optimizers):
            lr = float(optimizer.param_groups[0]["lr"])
            pl_module.log(optimizer_metric("lr", trainer, index), lr, on_step=True, on_epoch=False,
                          batch_size=1)
