"""Real training on CPU through the real entries (subprocesses), asserting on numbers."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import DIGITS, run_entry, start_entry, wait_for
from torchx.events import EVENT_FIELDS, read_events
from torchx.summary import RunSummary
from tui.run.status import run_status

pytestmark = pytest.mark.slow  # trains real models: left out of `make test-fast`


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    events, bad = read_events(run_dir / "events.jsonl")
    assert bad == []
    return events


def kinds(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def status_of(run_dir: Path) -> str:
    summary = RunSummary()
    summary.update(events_of(run_dir))
    return run_status(summary, None)


@pytest.mark.parametrize("entry", ["train_pl", "train"])
def test_digits_default_config_reaches_95_percent(save_dir: Path, entry: str) -> None:
    result = run_entry(entry, "--config", DIGITS, "--save-dir", str(save_dir), "--name", "d")
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = save_dir / "d"
    events = events_of(run_dir)
    assert len(kinds(events, "start")) == 1
    epochs = kinds(events, "epoch")
    assert [e["epoch"] for e in epochs] == list(range(30))
    assert all(isinstance(e["eta_s"], (int, float)) for e in epochs[1:])
    assert epochs[-1]["metrics"]["val/acc"] >= 0.95
    assert epochs[-1]["metrics"]["train/loss"] < epochs[0]["metrics"]["train/loss"] / 5
    assert kinds(events, "end") == [events[-1]] and events[-1]["status"] == "finished"
    for path in ("config.yaml", "log.txt", "ckpt/last.ckpt", "src/torchx/train.py",
                 "src/configs/digits-classification.yaml"):
        assert (run_dir / path).exists(), path
    # last.ckpt is the latest epoch, also after the monitored metric stopped improving
    last = torch.load(run_dir / "ckpt" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["global_step"] == epochs[-1]["step"] == 600
    if entry == "train_pl":
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        tb = EventAccumulator(str(run_dir / "tb")).Reload()  # flushed at the end, not at each log point
        assert len(tb.Scalars("val/acc")) == 30 and len(tb.Scalars("train/loss_step")) == 120
        best = [e for e in kinds(events, "ckpt") if e["monitor"] == "val/acc"]
        assert best and best[-1]["epoch"] < 29  # the best stopped moving: the two files differ
    log = (run_dir / "log.txt").read_text()
    assert "epoch 30/30" in log and "eta" in log and "end: finished" in log


def test_same_seed_gives_identical_losses(save_dir: Path) -> None:
    losses = []
    for name in ("a", "b"):
        result = run_entry("train", "--config", DIGITS, "--save-dir", str(save_dir), "--name", name,
                           "trainer_params.max_epochs=2")
        assert result.returncode == 0, result.stderr[-2000:]
        losses.append([e["metrics"] for e in kinds(events_of(save_dir / name), "step")])
    assert losses[0] and losses[0] == losses[1]


def test_two_process_cpu_ddp_writes_one_start_and_one_end(save_dir: Path) -> None:
    result = run_entry("train_pl", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "ddp",
                       "trainer_params.max_epochs=2", "trainer_params.accelerator=cpu",
                       "trainer_params.devices=2", "trainer_params.strategy=ddp")
    assert result.returncode == 0, result.stderr[-3000:]
    events = events_of(save_dir / "ddp")
    assert len(kinds(events, "start")) == 1 and len(kinds(events, "end")) == 1
    assert kinds(events, "start")[0]["world_size"] == 2
    assert events[-1]["status"] == "finished"


def _start_long_run(save_dir: Path, entry: str, name: str, *extra: str) -> Any:
    proc = start_entry(entry, "--config", DIGITS, "--save-dir", str(save_dir), "--name", name,
                       "trainer_params.max_epochs=500", *extra, log=save_dir / f"{name}.out")
    run_dir = save_dir / name
    wait_for(lambda: (run_dir / "ckpt" / "last.ckpt").exists() and kinds(events_of(run_dir), "step"),
             what="training with a checkpoint")
    return proc, run_dir


def _resume_and_check_steps_continue(save_dir: Path, entry: str, run_dir: Path) -> None:
    before = max(e["step"] for e in events_of(run_dir) if "step" in e)
    stop_epoch = max([e["epoch"] for e in kinds(events_of(run_dir), "epoch")], default=0)
    result = run_entry(entry, "--resume", run_dir.name, "--save-dir", str(save_dir),
                       f"trainer_params.max_epochs={stop_epoch + 3}")
    assert result.returncode == 0, result.stderr[-3000:]
    events = events_of(run_dir)
    starts = kinds(events, "start")
    assert len(starts) == 2 and starts[1]["resumed_from"].endswith("last.ckpt")
    resumed_steps = [e["step"] for e in events[events.index(starts[1]):] if e["event"] == "step"]
    assert resumed_steps and min(resumed_steps) > before - 20
    assert min(resumed_steps) >= starts[1]["global_step"]
    assert starts[1]["global_step"] > 0
    assert events[-1]["event"] == "end" and events[-1]["status"] == "finished"
    assert status_of(run_dir) == "finished"


@pytest.mark.parametrize("entry", ["train_pl", "train"])
def test_sigint_stops_cleanly_and_resume_continues(save_dir: Path, entry: str) -> None:
    proc, run_dir = _start_long_run(save_dir, entry, "s")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    end = events_of(run_dir)[-1]
    assert end["event"] == "end" and end["status"] == "stopped" and "SIGINT" in end["reason"]
    assert (run_dir / "ckpt" / "last.ckpt").exists() and status_of(run_dir) == "stopped"
    _resume_and_check_steps_continue(save_dir, entry, run_dir)


def test_sigterm_to_a_ddp_group_stops_every_rank(save_dir: Path) -> None:
    import psutil

    proc, run_dir = _start_long_run(save_dir, "train_pl", "t", "trainer_params.accelerator=cpu",
                                    "trainer_params.devices=2", "trainer_params.strategy=ddp")
    ranks = [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == proc.pid]
    assert len(ranks) >= 2
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert events_of(run_dir)[-1]["status"] == "stopped"
    wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in ranks),
             timeout=120, what="all ranks to exit")


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_sigkill_leaves_a_lost_run_that_resumes(save_dir: Path) -> None:
    proc, run_dir = _start_long_run(save_dir, "train_pl", "k")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not kinds(events_of(run_dir), "end")
    assert status_of(run_dir) == "lost"
    _resume_and_check_steps_continue(save_dir, "train_pl", run_dir)


def test_start_event_matches_the_schema(save_dir: Path) -> None:
    result = run_entry("train", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "s",
                       "trainer_params.max_epochs=1")
    assert result.returncode == 0, result.stderr[-2000:]
    events = events_of(save_dir / "s")
    assert {e["event"] for e in events} == {"start", "step", "epoch", "ckpt", "end"}
    for event in events:
        missing = {"v", "time", *EVENT_FIELDS[event["event"]]} - set(event)
        assert not missing, (event["event"], missing)
    start = kinds(events, "start")[0]
    assert start["argv"][1:3] == ["-m", "torchx.train"] and start["entry"] == "train"
    assert events[-1]["status"] == "finished" and events[-1]["reason"] is None
    json.dumps(events)
