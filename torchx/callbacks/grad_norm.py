"""`grad_norm`: the example of a custom callback — copy this file to write your own.

The pattern: subclass `pl.Callback`, register it under a name, list it in a config's `callbacks:`
(`{name: grad_norm, args: {norm_type: 2.0}}`), and import its module in `callbacks/__init__.py`.
Constructor arguments come from `args` and are checked against the signature before a run starts.
Metrics logged through `pl_module.log` under `train/` reach events.jsonl, log.txt and TensorBoard.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from torchx.callbacks.lr_monitor import optimizer_metric
from torchx.callbacks.tools import register


@register("grad_norm")
class GradNorm(pl.Callback):
    """Logs the total gradient norm of each optimizer's parameters just before it steps."""

    def __init__(self, norm_type: float = 2.0) -> None:
        self.norm_type = norm_type

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                                 optimizer: torch.optim.Optimizer) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g, self.norm_type)
                                                     for g in grads]), self.norm_type)
        index = next(i for i, opt in enumerate(trainer.optimizers) if opt is optimizer)
        pl_module.log(optimizer_metric("grad_norm", trainer, index), norm, on_step=True, on_epoch=True,
                      batch_size=1)
