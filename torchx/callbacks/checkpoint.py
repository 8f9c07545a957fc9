"""Checkpoint callbacks: Lightning's ModelCheckpoint, reporting each save as a `ckpt` event.

Two of them run: the config's `checkpoint` section (the best by its monitor) and one that rewrites
`last.ckpt` after every epoch. Lightning's own `save_last` follows the monitored saves — with a
monitor, `last.ckpt` stops moving once the metric stops improving — and a resume must continue
from the latest epoch, not the best one. Neither saves at the end of an epoch a stop cut short
(`graceful_stop.epoch_cut`). A resumed run first removes the checkpoints its restored state does not
know of (`checkpoints.remove_stale`), so `save_top_k` holds across kills. Every file is written by
`AtomicCheckpointIO` (`checkpoints.save_atomic`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.plugins import TorchCheckpointIO

from torchx.callbacks.events import EventsCallback
from torchx.callbacks.graceful_stop import epoch_cut
from torchx.checkpoints import remove_stale, save_atomic
from torchx.experiment import LAST_CKPT


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, through a temporary file beside the target: Lightning's own writes
    it in $TMPDIR and moves it, a copy that a full disk or a kill cuts half-way on another filesystem."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_atomic(checkpoint, Path(path))


class TorchxCheckpoint(ModelCheckpoint):
    def __init__(self, events: EventsCallback, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._events = events
        self._state_key = f"{super().state_key}[{self.filename}]"
        self._restored_dirpath: str | None = None

    @property
    def state_key(self) -> str:
        """Unique per file pattern: two instances may share a monitor (both None without one). Built
        once: Lightning formats it for every hook call, a dozen times a step."""
        return self._state_key

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._restored_dirpath = state_dict.get("dirpath")

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        if trainer.is_global_zero and trainer.ckpt_path is not None and _all_restored_here(trainer):
            remove_stale(Path(str(self.dirpath)), _known_checkpoints(trainer))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not epoch_cut(trainer):
            super().on_train_epoch_end(trainer, pl_module)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not epoch_cut(trainer):
            super().on_validation_end(trainer, pl_module)

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        score = self.current_score
        value = float(score) if score is not None else None
        self._events.on_checkpoint_saved(trainer, filepath, self.monitor, value)


def _all_restored_here(trainer: pl.Trainer) -> bool:
    """Every checkpoint callback got its files' list back (Lightning drops it when the run dir moved)."""
    return all(isinstance(cb, TorchxCheckpoint) and cb._restored_dirpath == cb.dirpath
               for cb in trainer.checkpoint_callbacks)


def _known_checkpoints(trainer: pl.Trainer) -> list[Path]:
    """The files the restored checkpoint callbacks keep, and the one the run resumed from."""
    paths = [str(trainer.ckpt_path)]
    for cb in trainer.checkpoint_callbacks:
        if isinstance(cb, ModelCheckpoint):
            paths += [*cb.best_k_models, cb.best_model_path, cb.kth_best_model_path, cb.last_model_path]
    return [Path(p) for p in paths if p]


def checkpoint_callbacks(events: EventsCallback, dirpath: Path,
                         config: dict[str, Any]) -> list[TorchxCheckpoint]:
    """The configured checkpoint (its `save_last` is ours to keep) and the every-epoch `last.ckpt`."""
    best = TorchxCheckpoint(events, dirpath=dirpath, **{**config, "save_last": False})
    last = TorchxCheckpoint(events, dirpath=dirpath, filename=Path(LAST_CKPT).stem, monitor=None,
                            save_top_k=1, enable_version_counter=False)
    return [best, last]
