"""`EventsCallback`: the Lightning callback that writes `events.jsonl` and `log.txt` through a RunRecorder.

Only global rank 0 writes. It reads metric values only at log points (every `log_every_n_steps` and at
epoch ends), so it adds no host-device sync beyond what Lightning's own logging does. An event's `step`
is `progress_step`: training steps, in the unit of `steps_per_epoch` in the `start` event.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from torchx.callbacks.graceful_stop import epoch_cut
from torchx.callbacks.metrics import phase_metrics
from torchx.recorder import RunRecorder
from torchx.report import epoch_line


class EventsCallback(pl.Callback):
    def __init__(self, run_dir: Path, run_info: dict[str, Any]) -> None:
        self.run_dir, self.run_info = run_dir, run_info
        self.recorder: RunRecorder | None = None
        self._epoch_t0 = self._val_t0 = 0.0
        self._last_logged_step = -1

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.recorder is None:
            self.recorder = RunRecorder(self.run_dir, enabled=trainer.is_global_zero)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        assert self.recorder is not None
        self._epoch_t0 = time.perf_counter()  # a mid-epoch resume has no `on_train_epoch_start`
        devices: Any = trainer.device_ids if trainer.strategy.root_device.type == "cuda" else "cpu"
        import pytorch_lightning

        self.recorder.start(
            **self.run_info, world_size=trainer.world_size, devices=devices,
            max_epochs=trainer.max_epochs or 0, steps_per_epoch=_steps_per_epoch(trainer),
            global_step=progress_step(trainer), epochs_done=trainer.current_epoch,
            versions={"python": sys.version.split()[0], "torch": torch.__version__,
                      "lightning": pytorch_lightning.__version__},
        )

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_t0 = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        assert self.recorder is not None
        step = progress_step(trainer)
        self.recorder.train_progress(step)
        every = trainer.log_every_n_steps  # type: ignore[attr-defined]  # set in Trainer.__init__, undeclared
        if not trainer.is_global_zero or step == self._last_logged_step or step % every:
            return
        self._last_logged_step = step
        metrics = phase_metrics(trainer.callback_metrics, "step", prefixes=("train/",))
        samples = _batch_size(batch) * trainer.world_size
        self.recorder.step(trainer.current_epoch, step, metrics, samples)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._val_t0 = time.perf_counter()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking and self.recorder is not None:
            self.recorder.validation_done(time.perf_counter() - self._val_t0)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.recorder is None or not trainer.is_global_zero or epoch_cut(trainer):
            return  # an epoch a stop cut short ends after a resume, with its own `epoch` event
        metrics = phase_metrics(trainer.callback_metrics, "epoch")
        epoch_time_s, max_epochs = time.perf_counter() - self._epoch_t0, trainer.max_epochs or 0
        self.recorder.epoch(trainer.current_epoch, progress_step(trainer), metrics, epoch_time_s, max_epochs)
        if trainer.progress_bar_callback is None:  # no bar (stdout not a terminal): a line an epoch instead
            print(epoch_line(trainer.current_epoch, max_epochs, metrics, epoch_time_s,
                             self.recorder.elapsed_s()), flush=True)

    def on_checkpoint_saved(self, trainer: pl.Trainer, path: str, monitor: str | None,
                            value: float | None) -> None:
        if self.recorder is not None and trainer.is_global_zero:
            # Lightning makes checkpoint paths absolute; the run dir may be relative (--save-dir save)
            relative = Path(path).resolve().relative_to(self.run_dir.resolve())
            self.recorder.ckpt(str(relative), trainer.current_epoch, progress_step(trainer), monitor, value)


def progress_step(trainer: pl.Trainer) -> int:
    """Training steps done: Lightning's global step (optimizer steps) over the module's steps per batch.

    The two agree for one optimizer; a manually optimised module that steps several optimizers per batch
    (the GAN wrapper) says how many through `optimizer_steps_per_batch`, so a step is one batch there.
    """
    per_batch = getattr(trainer.lightning_module, "optimizer_steps_per_batch", 1)
    return trainer.global_step // per_batch


def _steps_per_epoch(trainer: pl.Trainer) -> int:
    batches = trainer.num_training_batches
    if batches == float("inf"):
        return 0
    return max(1, int(batches) // max(1, trainer.accumulate_grad_batches))


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (list, tuple)) and batch else batch
    return len(first) if hasattr(first, "__len__") else 0
