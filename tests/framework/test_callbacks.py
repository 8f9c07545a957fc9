"""Callbacks from the config: early stopping ends a run early and says why; metrics reach the event log."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.conftest import run_entry
from tests.framework.test_training import events_of, kinds

pytestmark = pytest.mark.slow  # trains real models: left out of `make test-fast`

EARLY = "configs/digits-early-stopping.yaml"
CALLBACKS = ("callbacks=[{name: early_stopping, args: {monitor: val/acc, mode: max, patience: 2, "
             "min_delta: 0.01}}, {name: lr_monitor}, {name: grad_norm, args: {norm_type: 2.0}}]")


def test_early_stopping_stops_before_max_epochs_and_says_why(save_dir: Path) -> None:
    result = run_entry("train_pl", "--config", EARLY, "--save-dir", str(save_dir), "--name", "e",
                       "trainer_params.max_epochs=40", "trainer_params.log_every_n_steps=4", CALLBACKS)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = save_dir / "e"
    events = events_of(run_dir)
    epochs = kinds(events, "epoch")
    assert 3 <= len(epochs) < 40
    accs = [e["metrics"]["val/acc"] for e in epochs]
    best = max(accs[:-2])
    assert all(acc < best + 0.01 for acc in accs[-2:])  # the last two epochs brought no 0.01 gain
    end = events[-1]
    assert end["event"] == "end" and end["status"] == "finished"
    assert end["reason"] == f"early stopping: val/acc did not improve for 2 validation runs (best {best:.4g})"
    log = (run_dir / "log.txt").read_text()
    assert f"end: finished ({end['reason']})" in log

    # lr_monitor and grad_norm: their metrics reach the step and epoch events and log.txt
    steps = kinds(events, "step")
    assert steps and all(abs(e["metrics"]["train/lr"] - 0.002) < 1e-6 for e in steps if e["epoch"] == 0)
    assert all(0 < e["metrics"]["train/grad_norm"] < 100 for e in steps)
    assert epochs[1]["metrics"]["train/lr"] < 0.002  # the cosine schedule has stepped once
    assert math.isfinite(epochs[1]["metrics"]["train/grad_norm"])
    assert "train/grad_norm=" in log and "train/lr=" in log


def test_unknown_callback_is_refused_in_one_line(save_dir: Path) -> None:
    result = run_entry("train_pl", "--config", EARLY, "--save-dir", str(save_dir),
                       "callbacks=[{name: early_stoping}]")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {EARLY}: callbacks[0]: unknown callback 'early_stoping' (did you mean 'early_stopping'?); "
        "known: early_stopping, grad_norm, lr_monitor"]
