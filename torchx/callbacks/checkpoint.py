"""Checkpoint callbacks: Lightning's ModelCheckpoint, reporting each save as a `ckpt` event.

Two of them run: the config's `checkpoint` section (the best by its monitor) and one that rewrites
`last.ckpt` after every epoch. Lightning's own `save_last` follows the monitored saves — with a
monitor, `last.ckpt` stops moving once the metric stops improving — and a resume must continue
from the latest epoch, not the best one. Lightning writes every file atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from torchx.callbacks.events import EventsCallback
from torchx.experiment import LAST_CKPT


class TorchxCheckpoint(ModelCheckpoint):
    def __init__(self, events: EventsCallback, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._events = events
        self._state_key = f"{super().state_key}[{self.filename}]"

    @property
    def state_key(self) -> str:
        """Unique per file pattern: two instances may share a monitor (both None without one). Built
        once: Lightning formats it for every hook call, a dozen times a step."""
        return self._state_key

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        score = self.current_score
        value = float(score) if score is not None else None
        self._events.on_checkpoint_saved(trainer, filepath, self.monitor, value)


def checkpoint_callbacks(events: EventsCallback, dirpath: Path,
                         config: dict[str, Any]) -> list[TorchxCheckpoint]:
    """The configured checkpoint (its `save_last` is ours to keep) and the every-epoch `last.ckpt`."""
    best = TorchxCheckpoint(events, dirpath=dirpath, **{**config, "save_last": False})
    last = TorchxCheckpoint(events, dirpath=dirpath, filename=Path(LAST_CKPT).stem, monitor=None,
                            save_top_k=1, enable_version_counter=False)
    return [best, last]
