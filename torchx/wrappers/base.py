"""`BaseWrapper`: a classifier LightningModule built from model, loss, optimizer and scheduler specs.

Customise by subclassing and registering under a new name; `spec_kinds` tells `torchx.check` which
registry validates each `*_spec` argument, so a subclass with other specs is still checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl
import torch

from torchx import losses, models
from torchx.formats import BASE_SPEC_KINDS
from torchx.metrics import accuracy
from torchx.optim import build_optimizer, build_scheduler
from torchx.wrappers.tools import register


@register("base")
class BaseWrapper(pl.LightningModule):
    spec_kinds: Mapping[str, str] = BASE_SPEC_KINDS

    def __init__(self, model_spec: dict[str, Any], loss_spec: dict[str, Any], optim_spec: dict[str, Any],
                 sched_spec: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()  # the specs travel in every checkpoint, so a run can be rebuilt
        self.model = models.make(model_spec)
        self.loss_fn = losses.make(loss_spec)
        self.optim_spec, self.sched_spec = optim_spec, sched_spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss_fn(self.model(x), y)
        self.log("train/loss", loss, on_step=True, on_epoch=True, sync_dist=True, batch_size=len(y))
        return loss

    def _evaluate(self, batch: Any, prefix: str) -> None:
        x, y = batch
        logits = self.model(x)
        self.log_dict({f"{prefix}/loss": self.loss_fn(logits, y), f"{prefix}/acc": accuracy(logits, y)},
                      on_epoch=True, sync_dist=True, batch_size=len(y))

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.optim_spec, self.parameters())
        scheduler = build_scheduler(self.sched_spec, optimizer)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
