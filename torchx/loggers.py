"""The TensorBoard logger the Lightning entry writes `tb/` with."""

from __future__ import annotations

import time

from pytorch_lightning.loggers import TensorBoardLogger

FLUSH_EVERY_S = 5.0


class TensorBoard(TensorBoardLogger):
    """Lightning's TensorBoard logger, flushing its event file at most every `FLUSH_EVERY_S` seconds.

    Lightning calls `save()` (a flush to disk) at every log point, every `log_every_n_steps` steps:
    most of what TensorBoard costs a small model per step. `events.jsonl` is the run's record of
    progress; TensorBoard's file may lag by seconds, and `finalize` flushes it at the end.
    """

    _saved_at = float("-inf")

    def save(self) -> None:
        now = time.monotonic()
        if now - self._saved_at >= FLUSH_EVERY_S:
            self._saved_at = now
            super().save()
