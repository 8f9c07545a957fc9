from __future__ import annotations

from torchx.eta import EtaEstimator


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_eta_ignores_warmup_and_separates_validation() -> None:
    clock = Clock()
    eta = EtaEstimator(total_steps=100, total_epochs=10, warmup_steps=5, clock=clock)
    eta.begin(0)
    for step in range(1, 6):  # slow warm-up steps
        clock.now += 5.0
        eta.train_progress(step)
    assert eta.eta(5, 0) is None
    for step in range(6, 21):  # steady state: 0.1 s a step, one 1 s validation inside the window
        clock.now += 0.1
        eta.train_progress(step)
        if step == 10:
            clock.now += 1.0
            eta.validation_done(1.0)
    assert abs(eta.step_time(20) - 0.1) < 1e-9
    assert abs(eta.eta(20, 2) - (80 * 0.1 + 8 * 1.0)) < 1e-6


def test_resume_resets_the_baseline() -> None:
    clock = Clock()
    eta = EtaEstimator(total_steps=100, total_epochs=1, warmup_steps=2, clock=clock)
    eta.begin(50)
    for step in range(51, 56):
        clock.now += 0.5
        eta.train_progress(step)
    assert abs(eta.step_time(55) - 0.5) < 1e-9
    assert abs(eta.eta(55, 0) - 45 * 0.5) < 1e-9
