"""Time to finish: recent steady-state step time × the steps left, epoch boundaries and validation passes
still to come counted in steps.

What the estimate is made of, and why:

- Warm-up: the first `warmup_steps` after each (re)start are not timed (compilation, cache warm-up,
  loader workers starting); `begin`, called again on a resume, starts the baseline afresh.
- Step time: a fading mean of the time per training step, in which a step's weight falls by e every
  `memory_steps` later steps (about two epochs, at most 5 % of the run). A machine that slows down
  (another job, throttling) is followed within a few epochs; a plain mean since the start would take a
  quarter of the run to follow a slow-down half-way through.
- Epoch boundaries: what happens between epochs (checkpoints, loader restarts, schedulers) lands on
  each epoch's first step. That step is timed apart, in steps (it costs k ordinary ones), and added
  once per epoch still to start; mixed into the fading mean it would swing the ETA with the phase in
  the epoch (up to ±9 % when a boundary costs a fifth of an epoch).
- Validation: timed apart (`validation_done`) and taken out of the step times, so a pass every N epochs
  does not make the step rate uneven. Its cost is kept in training steps (one pass costs k steps), so a
  slow-down moves both alike, and it is added once per pass still to come. When passes run is learnt
  from the steps at which they ran (every epoch, every N epochs, or several times an epoch), so a run
  with Lightning's `check_val_every_n_epoch` is not charged a pass per epoch.

Torch-free and I/O-free: the recorder calls `train_progress` every step, so that call stays a few
arithmetic operations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MEMORY_EPOCHS = 2.0  # the step time's memory, in epochs ...
MEMORY_FRACTION = 0.05  # ... but at most this fraction of the run's steps ...
MIN_MEMORY_STEPS = 10.0  # ... and at least this many steps
BOUNDARY_MEMORY_EPOCHS = 2.0  # the epoch-boundary cost's memory, in epochs
VALIDATION_MEMORY_PASSES = 3.0  # the validation cost's memory, in passes


class FadingMean:
    """The mean of recent observations: an observation's weight falls by e every `memory` later units."""

    def __init__(self, memory: float) -> None:
        self.memory = memory
        self.total = self.weight = 0.0

    def add(self, value: float, units: float = 1.0) -> None:
        """An observation of `value` summed over `units` (seconds over a number of steps)."""
        fade = math.exp(-units / self.memory)
        self.total = self.total * fade + value
        self.weight = self.weight * fade + units

    @property
    def mean(self) -> float | None:
        return self.total / self.weight if self.weight > 0 else None


class ValidationSchedule:
    """Where validation passes fall, in training steps: the last pass, and the gap between the last two
    (or, after one pass, between the (re)start and it)."""

    def __init__(self, first_step: int) -> None:
        self.first_step = first_step
        self.last: int | None = None
        self.period: int | None = None

    def ran_at(self, step: int) -> None:
        previous = self.first_step if self.last is None else self.last
        if step > previous:
            self.period = step - previous
        self.last = step

    def passes_left(self, total_steps: int) -> int:
        """Passes after the last one up to `total_steps` (one pending at the current step included)."""
        if self.last is None or not self.period:
            return 0
        return max(0, (total_steps - self.last) // self.period)


def memory_steps(total_steps: int, total_epochs: int) -> float:
    """The step time's memory: `MEMORY_EPOCHS` epochs, at most `MEMORY_FRACTION` of the run."""
    limits = [MEMORY_FRACTION * total_steps] if total_steps > 0 else []
    if total_steps > 0 and total_epochs > 0:
        limits.append(MEMORY_EPOCHS * total_steps / total_epochs)
    return max(MIN_MEMORY_STEPS, min(limits, default=MIN_MEMORY_STEPS))


class EtaEstimator:
    """Seconds to the end of a run of `total_steps` training steps over `total_epochs` epochs."""

    def __init__(self, total_steps: int, total_epochs: int, warmup_steps: int = 5,
                 clock: Callable[[], float] = time.perf_counter, memory: float | None = None) -> None:
        self.total_steps, self.total_epochs = total_steps, total_epochs
        self.warmup_steps, self.clock = warmup_steps, clock
        self.memory = memory if memory is not None else memory_steps(total_steps, total_epochs)
        self.steps_per_epoch = total_steps // total_epochs if total_epochs > 0 else 0
        self.begin(0)
        self._first_step: int | None = None  # the first `train_progress` begins, if `begin` was not called

    def begin(self, step: int) -> None:
        """Start (or restart after a resume) measuring from global step `step`: nothing measured before
        carries over."""
        self._first_step = self._last_step = step
        self._mark: tuple[int, float] | None = None  # (step, time) the next interval is timed from
        self._validation_since_mark = 0.0
        self._steps = FadingMean(self.memory)  # seconds per training step inside an epoch
        self._boundary = FadingMean(BOUNDARY_MEMORY_EPOCHS)  # an epoch's first step, in steps
        self._validation = FadingMean(VALIDATION_MEMORY_PASSES)  # a validation pass, in steps
        self._schedule = ValidationSchedule(step)

    def train_progress(self, step: int) -> None:
        """Record that global step `step` has finished (called every step: no I/O)."""
        if self._first_step is None:
            self.begin(step)
        self._last_step = step
        if step - (self._first_step or 0) < self.warmup_steps:
            return
        now = self.clock()
        if self._mark is not None:
            mark_step, mark_time = self._mark
            if step <= mark_step:
                return  # the same step again: its time goes to the next one
            self._timed(mark_step, step, max(0.0, now - mark_time - self._validation_since_mark))
        self._mark, self._validation_since_mark = (step, now), 0.0

    def _timed(self, mark_step: int, step: int, seconds: float) -> None:
        """Steps `mark_step` + 1 … `step` took `seconds` (validation out)."""
        if step == mark_step + 1 and self._starts_epoch(step):
            per_step = self._steps.mean
            if per_step:
                self._boundary.add(seconds / per_step)
            return
        self._steps.add(seconds, step - mark_step)

    def _starts_epoch(self, step: int) -> bool:
        return self.steps_per_epoch > 0 and (step - 1) % self.steps_per_epoch == 0

    def _epochs_to_start(self, step: int) -> int:
        """Epochs whose first step comes after global step `step`."""
        if not self.steps_per_epoch:
            return 0
        return max(0, self.total_epochs - 1 - (step - 1) // self.steps_per_epoch)

    def validation_done(self, seconds: float) -> None:
        """A validation pass of `seconds` ended (after the last step given to `train_progress`)."""
        self._validation_since_mark += seconds
        self._schedule.ran_at(self._last_step)
        per_step = self._steps.mean
        if per_step:
            self._validation.add(seconds / per_step)

    def step_time(self, step: int | None = None) -> float | None:
        """Recent seconds per training step inside an epoch, or None until one after the warm-up was
        timed."""
        return self._steps.mean

    def eta(self, step: int, epochs_done: int | None = None) -> float | None:
        """Seconds left after global step `step`, or None until measurable. `epochs_done` is accepted
        for callers that pass it; the validation schedule comes from the steps passes ran at."""
        per_step = self._steps.mean
        if per_step is None:
            return None
        steps: float = max(0, self.total_steps - step)
        steps += self._epochs_to_start(step) * ((self._boundary.mean or 1.0) - 1.0)
        steps += self._schedule.passes_left(self.total_steps) * (self._validation.mean or 0.0)
        return steps * per_step
