"""The GAN wrapper trains for real on the digits: losses logged and finite, samples written, stop/resume."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_entry, start_entry, wait_for
from tests.framework.test_training import events_of, kinds

pytestmark = pytest.mark.slow  # trains real models: left out of `make test-fast`

GAN = "configs/digits-gan.yaml"
LOSSES = ("train/g_loss", "train/d_loss", "train/d_real", "train/d_fake")
STEPS_PER_EPOCH = 29  # ceil(1797 / 64): the digits config trains on every image


def _check_losses(events: list[dict[str, Any]]) -> None:
    for event in kinds(events, "step") + kinds(events, "epoch"):
        assert all(math.isfinite(event["metrics"][key]) for key in LOSSES), event


def test_gan_trains_logs_both_losses_and_writes_samples(save_dir: Path) -> None:
    result = run_entry("train_pl", "--config", GAN, "--save-dir", str(save_dir), "--name", "g",
                       "trainer_params.max_epochs=3", "trainer_params.log_every_n_steps=5",
                       "train_wrapper.args.sample_every_n_epochs=2", "callbacks=[{name: lr_monitor}]")
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = save_dir / "g"
    events = events_of(run_dir)
    assert kinds(events, "start")[0]["steps_per_epoch"] == STEPS_PER_EPOCH
    steps = kinds(events, "step")
    assert [e["step"] for e in steps] == list(range(5, 3 * STEPS_PER_EPOCH + 1, 5))
    assert [e["step"] for e in kinds(events, "epoch")] == [29, 58, 87]
    _check_losses(events)
    late = steps[len(steps) // 2:]
    assert sum(e["metrics"]["train/d_real"] - e["metrics"]["train/d_fake"] for e in late) > 0
    assert all(abs(e["metrics"]["train/lr_g"] - 5e-4) < 1e-9 for e in steps)
    assert events[-1]["status"] == "finished"
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["epoch-2.png", "epoch-3.png"]
    png = (run_dir / "samples" / "epoch-3.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))


def test_gan_stops_on_sigint_and_resumes_with_hinge_loss(save_dir: Path) -> None:
    args = ("train_wrapper.args.loss_spec={name: gan_hinge}", "train_wrapper.args.d_steps=2",
            "trainer_params.log_every_n_steps=4", "trainer_params.limit_train_batches=12")
    proc = start_entry("train_pl", "--config", GAN, "--save-dir", str(save_dir), "--name", "h",
                       "trainer_params.max_epochs=500", *args, log=save_dir / "h.out")
    run_dir = save_dir / "h"
    wait_for(lambda: (run_dir / "ckpt" / "last.ckpt").exists() and kinds(events_of(run_dir), "epoch"),
             what="a GAN epoch and a checkpoint")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    events = events_of(run_dir)
    assert events[-1]["status"] == "stopped" and "SIGINT" in events[-1]["reason"]
    stopped_at = kinds(events, "ckpt")[-1]["step"]
    epochs_done = len(kinds(events, "epoch"))
    result = run_entry("train_pl", "--resume", "h", "--save-dir", str(save_dir),
                       f"trainer_params.max_epochs={epochs_done + 2}")
    assert result.returncode == 0, result.stderr[-3000:]
    events = events_of(run_dir)
    second = kinds(events, "start")[1]
    assert second["global_step"] == stopped_at  # batches, though Lightning counted 3 optimizer steps each
    resumed = events[events.index(second):]
    assert min(e["step"] for e in kinds(resumed, "step")) > stopped_at
    # the interrupted epoch is finished first: max_epochs epochs of 12 batches in all
    assert kinds(resumed, "epoch")[-1]["step"] == (epochs_done + 2) * 12
    _check_losses(events)
    assert events[-1]["status"] == "finished"
    assert (run_dir / "samples" / f"epoch-{epochs_done + 2}.png").exists()


def test_plain_entry_refuses_the_gan_config(save_dir: Path) -> None:
    result = run_entry("train", "--config", GAN, "--save-dir", str(save_dir))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {GAN}: train_wrapper.name: the plain entry runs only the 'base' wrapper, not 'gan' "
        "(use python -m torchx.train_pl)"]


def test_check_validates_the_gan_specs(save_dir: Path) -> None:
    result = run_entry("check", "--config", GAN, "train_wrapper.args.d_model_spec.name=mlp_discrim",
                       "train_wrapper.args.g_optim_spec.args.lr=0.001")
    assert result.returncode == 2
    assert "train_wrapper.args.d_model_spec: unknown model 'mlp_discrim'" in result.stderr
    result = run_entry("check", "--config", GAN, "train_wrapper.args.loss_spec={name: cross_entropy}")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {GAN}: train_wrapper.args: loss_spec 'cross_entropy' is not a "
                                     "GAN loss (e.g. gan_bce, gan_hinge)")
