"""The ETA estimator on synthetic runs driven by a fake clock: exact numbers, no timing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from torchx.eta import EtaEstimator, FadingMean, ValidationSchedule, memory_steps


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def constant(value: float) -> Callable[[int], float]:
    return lambda step: value


@dataclass
class Run:
    """A training run on the fake clock: seconds per step (times `slowness` at that step), a validation
    pass every `val_every` epochs, a cost at each epoch's first step, slow warm-up steps."""

    epochs: int = 40
    steps_per_epoch: int = 20
    step_s: float = 0.1
    val_s: float = 0.0
    val_every: int = 1
    boundary_s: float = 0.0
    warmup: tuple[int, float] = (0, 0.0)  # (steps, extra seconds each)
    slowness: Callable[[int], float] = constant(1.0)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


Seen = list[tuple[int, float, float | None]]  # (step, clock, ETA there), at every step


def drive(run: Run, eta: EtaEstimator, clock: Clock, first_epoch: int = 0) -> tuple[Seen, float]:
    """Train `run` from `first_epoch` on; what the estimator said at every step, and the end time."""
    step, seen = first_epoch * run.steps_per_epoch, []
    eta.begin(step)
    for epoch in range(first_epoch, run.epochs):
        for i in range(run.steps_per_epoch):
            extra = run.warmup[1] if step - first_epoch * run.steps_per_epoch < run.warmup[0] else 0.0
            clock.now += (run.step_s + run.boundary_s * (i == 0)) * run.slowness(step) + extra
            step += 1
            eta.train_progress(step)
            seen.append((step, clock.now, eta.eta(step)))
        if (epoch + 1) % run.val_every == 0:
            seconds = run.val_s * run.slowness(step)
            clock.now += seconds
            eta.validation_done(seconds)
    return seen, clock.now


def remaining_error(seen: Seen, end: float, step: int) -> float:
    """The ETA at `step` over the time actually left, minus one."""
    _, now, eta = next(s for s in seen if s[0] == step)
    assert eta is not None
    return eta / (end - now) - 1


def estimator(run: Run, clock: Clock, **kwargs: float) -> EtaEstimator:
    return EtaEstimator(run.total_steps, run.epochs, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_warmup_steps_are_not_timed() -> None:
    clock, run = Clock(), Run(warmup=(5, 5.0))
    eta = estimator(run, clock, warmup_steps=5)
    seen, end = drive(run, eta, clock)
    assert all(e is None for _, _, e in seen[:5])
    assert eta.step_time() == pytest.approx(0.1)
    assert remaining_error(seen, end, 40) == pytest.approx(0.0, abs=1e-9)


def test_validation_is_timed_apart_and_added_per_pass_left() -> None:
    clock, run = Clock(), Run(epochs=10, steps_per_epoch=10, val_s=1.0)
    eta = estimator(run, clock)
    seen, end = drive(run, eta, clock)
    assert eta.step_time() == pytest.approx(0.1)
    # at step 20 the pass of epoch 2 is still to come: 80 steps and 9 passes of 10 steps' time
    assert next(e for s, _, e in seen if s == 20) == pytest.approx(80 * 0.1 + 9 * 1.0)
    for step in (20, 25, 50, 75, 99):  # from the first pass on (the first cannot be foreseen)
        assert remaining_error(seen, end, step) == pytest.approx(0.0, abs=1e-9)


def test_validation_every_n_epochs_is_charged_per_pass_not_per_epoch() -> None:
    clock, run = Clock(), Run(epochs=100, steps_per_epoch=13, val_s=2.0, val_every=4)
    seen, end = drive(run, estimator(run, clock), clock)
    for epoch in (9, 10, 11, 12, 25, 50):  # a whole cycle of phases, once the first two passes were seen
        assert remaining_error(seen, end, epoch * 13 + 5) == pytest.approx(0.0, abs=1e-9)


def test_validation_several_times_an_epoch() -> None:
    schedule = ValidationSchedule(first_step=0)
    for step in (25, 50, 75, 100):
        schedule.ran_at(step)
    assert schedule.period == 25
    assert schedule.passes_left(total_steps=400) == 12


def test_epoch_boundary_costs_are_averaged_in_at_every_phase() -> None:
    clock, run = Clock(), Run(epochs=60, boundary_s=0.5, val_s=0.3)  # a boundary costs 5 steps
    seen, end = drive(run, estimator(run, clock), clock)
    for step in range(120, 1100, 7):
        assert remaining_error(seen, end, step) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(("factor", "epochs"), [(2.0, 4), (0.5, 5)])
def test_a_change_of_speed_is_followed_within_a_few_epochs(factor: float, epochs: int) -> None:
    clock = Clock()
    run = Run(epochs=100, val_s=0.4, slowness=lambda step: factor if step >= 1000 else 1.0)
    seen, end = drive(run, estimator(run, clock), clock)
    assert abs(remaining_error(seen, end, 990)) > 0.3  # the change could not be foreseen
    assert abs(remaining_error(seen, end, 1000 + epochs * 20)) < 0.10
    assert abs(remaining_error(seen, end, 1000 + 3 * epochs * 20)) < 0.01


def test_a_plain_mean_would_not_follow_a_slow_down() -> None:
    """The same slow-down with a memory as long as the run: a quarter of the run later, still off."""
    clock = Clock()
    run = Run(epochs=100, slowness=lambda step: 2.0 if step >= 1000 else 1.0)
    seen, end = drive(run, estimator(run, clock, memory=1e9), clock)
    assert remaining_error(seen, end, 1500) < -0.25


def test_resume_resets_the_baseline() -> None:
    clock = Clock()
    fast = Run(epochs=20, step_s=0.01, val_s=0.1)
    eta = estimator(fast, clock)
    drive(Run(epochs=10, step_s=0.01, val_s=0.1), eta, clock)
    resumed = Run(epochs=20, step_s=0.5, val_s=0.5, warmup=(5, 10.0))  # another machine, a slow start
    seen, end = drive(resumed, eta, clock, first_epoch=10)
    assert all(e is None for s, _, e in seen if s < 205)
    assert eta.step_time() == pytest.approx(0.5)
    assert remaining_error(seen, end, 250) == pytest.approx(0.0, abs=1e-9)


def test_a_repeated_step_is_one_step() -> None:
    """Accumulated batches report the same step again: their time belongs to the next step."""
    clock = Clock()
    eta = EtaEstimator(total_steps=100, total_epochs=1, warmup_steps=0, clock=clock, memory=1e9)
    eta.begin(0)
    for step in (1, 2, 2, 2, 3):
        clock.now += 0.1
        eta.train_progress(step)
    assert eta.step_time() == pytest.approx((0.1 + 0.3) / 2)


def test_fading_mean_forgets_by_e_per_memory() -> None:
    mean = FadingMean(memory=10.0)
    mean.add(10.0, 10.0)  # 1 s a step for 10 steps ...
    mean.add(20.0, 10.0)  # ... then 2 s a step: the first ten weigh 1/e
    assert mean.mean == pytest.approx((10.0 / 2.718281828 + 20.0) / (10.0 / 2.718281828 + 10.0))


@pytest.mark.parametrize(("steps", "epochs", "memory"), [
    (100_000, 100, 2_000.0),  # two epochs
    (50_000, 5, 2_500.0),  # few long epochs: 5 % of the run
    (600, 30, 30.0),
    (50, 5, 10.0),  # at least ten steps
    (0, 0, 10.0),  # unknown length
])
def test_memory(steps: int, epochs: int, memory: float) -> None:
    assert memory_steps(steps, epochs) == memory


def test_no_eta_before_a_step_was_timed_nor_past_the_end() -> None:
    clock = Clock()
    eta = EtaEstimator(total_steps=10, total_epochs=1, warmup_steps=2, clock=clock)
    eta.begin(0)
    for step in range(1, 13):
        clock.now += 1.0
        eta.train_progress(step)
        assert (eta.eta(step) is None) == (step <= 2)
    assert eta.eta(12) == 0.0
