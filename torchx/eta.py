"""Time-to-finish from steady-state step time, with validation timed separately.

The first `warmup_steps` after each (re)start are excluded (compilation, cache warm-up, worker start),
so a resume resets the baseline; validation time is subtracted from the training window and added back
per remaining validation run.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class EtaEstimator:
    def __init__(self, total_steps: int, total_epochs: int, warmup_steps: int = 5,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.total_steps, self.total_epochs = total_steps, total_epochs
        self.warmup_steps, self.clock = warmup_steps, clock
        self._first_step: int | None = None
        self._base_step: int | None = None
        self._base_time = 0.0
        self._val_in_window = 0.0
        self._val_total, self._val_runs = 0.0, 0

    def begin(self, step: int) -> None:
        """Start (or restart after a resume) measuring from global step `step`."""
        self._first_step, self._base_step, self._val_in_window = step, None, 0.0

    def train_progress(self, step: int) -> None:
        """Record that global step `step` has finished."""
        if self._first_step is None:
            self.begin(step)
        if self._base_step is None and step - (self._first_step or 0) >= self.warmup_steps:
            self._base_step, self._base_time, self._val_in_window = step, self.clock(), 0.0

    def validation_done(self, seconds: float) -> None:
        self._val_total += seconds
        self._val_runs += 1
        if self._base_step is not None:
            self._val_in_window += seconds

    def step_time(self, step: int) -> float | None:
        """Mean seconds per training step since the warm-up ended, or None until measurable."""
        if self._base_step is None or step <= self._base_step:
            return None
        return max(0.0, self.clock() - self._base_time - self._val_in_window) / (step - self._base_step)

    def eta(self, step: int, epochs_done: int) -> float | None:
        per_step = self.step_time(step)
        if per_step is None:
            return None
        val_mean = self._val_total / self._val_runs if self._val_runs else 0.0
        epochs_left = max(0, self.total_epochs - epochs_done)
        return max(0, self.total_steps - step) * per_step + epochs_left * val_mean
