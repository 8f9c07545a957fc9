"""The runner end to end, with real runs of the tiny digits config on CPU slots and real signals: runs
go in order, never more at once than the slots allow, each with its own overrides; kill -9 of the
runner loses nothing and launches nothing twice; two runners at once are one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import DIGITS, REPO, wait_for
from tests.conftest import test_env as child_env
from torchx.events import read_events
from torchx.experiment import read_json
from torchx.summary import RunSummary
from tui.launch.request import LaunchRequest
from tui.queue import store
from tui.queue.devices import Limits, save_limits
from tui.queue.runner import RUNNER_ENTRY, RUNNER_LOG, ensure_runner, runner_pid
from tui.run.status import run_status
from tui.table.scanner import RunsScanner

QUICK = Path(__file__).with_name("quick_trainer.py")
TINY = ("trainer_params.max_epochs=1", "trainer_params.limit_train_batches=3",
        "trainer_params.limit_val_batches=2", "trainer_params.log_every_n_steps=1",
        "trainer_params.enable_model_summary=false")
LIMIT_S = 300


def queue_runs(save: Path, names: list[str], slots: int = 1) -> None:
    save_limits(save, Limits(cpu_slots=slots))
    for seed, name in enumerate(names, start=1):
        store.queue(LaunchRequest(REPO / DIGITS, name, save, overrides=(*TINY, f"seed={seed}")))


def events(run_dir: Path) -> list[dict]:
    return read_events(run_dir / "events.jsonl")[0] if (run_dir / "events.jsonl").exists() else []


def ended(save: Path, names: list[str]) -> bool:
    return all(any(e["event"] == "end" for e in events(save / n)) for n in names)


def row_status(save: Path, name: str) -> str:
    rows = {row.name: row for row in RunsScanner(save).poll()[0]}
    return rows[name].status


def wait_done(save: Path, names: list[str]) -> None:
    wait_for(lambda: ended(save, names) and runner_pid(save) is None, LIMIT_S, "the queue to finish")


def check_each_ran_once(save: Path, names: list[str], slots: int = 1) -> None:
    """One `start`, one `end: finished` and one launch each; never more than `slots` alive at once
    (a run counts from its launch, not its `start`: its process lives seconds before it can write)."""
    spans = []
    for seed, name in enumerate(names, start=1):
        kinds = [e["event"] for e in events(save / name) if e["event"] in ("start", "end")]
        assert kinds == ["start", "end"], f"{name}: {kinds}"
        start, end = (e for e in events(save / name) if e["event"] in ("start", "end"))
        assert end["status"] == "finished"
        record = read_json(save / name / "run.json")
        assert record is not None and len(record["launches"]) == 1 and record["queued"]
        assert record["launched_at"] <= start["time"]
        spans.append((record["launched_at"], end["time"]))  # from its process's birth to its last word
        assert yaml.safe_load((save / name / "config.yaml").read_text())["seed"] == seed
        assert not store.queued_runs(save)
    for t, _ in spans:
        alive = sum(1 for s, e in spans if s <= t < e)
        assert alive <= slots, f"{alive} runs alive at once: {sorted(spans)}"


@pytest.mark.slow
def test_three_runs_on_one_slot_run_one_at_a_time_in_order(save_dir: Path, reap) -> None:
    names = ["q1", "q2", "q3"]
    queue_runs(save_dir, names)
    assert {n: row_status(save_dir, n) for n in names} == dict.fromkeys(names, "queued")
    assert ensure_runner(save_dir, env=child_env()) is not None
    wait_for(lambda: events(save_dir / "q1"), LIMIT_S, "q1 to start")
    assert row_status(save_dir, "q3") == "queued"  # one slot: it waits for q1 and q2
    wait_done(save_dir, names)
    check_each_ran_once(save_dir, names)
    starts = [next(e["time"] for e in events(save_dir / n)) for n in names]
    assert starts == sorted(starts)  # in queue order
    assert ensure_runner(save_dir, env=child_env()) is None  # nothing waits: no runner


@pytest.mark.slow
def test_kill_9_of_the_runner_loses_nothing_and_launches_nothing_twice(save_dir: Path, reap) -> None:
    names = ["k1", "k2", "k3"]
    queue_runs(save_dir, names)
    first = ensure_runner(save_dir, env=child_env())
    assert first is not None
    wait_for(lambda: events(save_dir / "k1"), LIMIT_S, "k1 to start")
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: runner_pid(save_dir) is None, LIMIT_S, "the lock to be free")
    assert [r.name for r in store.queued_runs(save_dir)] == ["k2", "k3"]
    second = ensure_runner(save_dir, env=child_env())
    assert second not in (None, first)
    wait_done(save_dir, names)  # k1 ran on without its runner; the new one waited for its slot
    check_each_ran_once(save_dir, names)


@pytest.mark.slow
def test_two_runners_at_once_are_one(save_dir: Path, reap) -> None:
    names = ["t1", "t2", "t3"]
    queue_runs(save_dir, names, slots=2)
    log_path = save_dir / ".queue" / RUNNER_LOG
    calls = [threading.Thread(target=ensure_runner, args=(save_dir,), kwargs={"env": child_env()})
             for _ in range(2)]
    with open(log_path, "ab") as log:
        direct = [subprocess.Popen([*RUNNER_ENTRY, "--save-dir", str(save_dir)], env=child_env(),
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
                  for _ in range(2)]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    wait_done(save_dir, names)
    assert all(p.wait(timeout=LIMIT_S) == 0 for p in direct)
    started = [line for line in log_path.read_text().splitlines() if line.endswith(" started")]
    assert len(started) == 1, started  # the others found the lock taken and left at once
    check_each_ran_once(save_dir, names, slots=2)


def test_kill_9_at_any_moment_never_launches_a_run_twice(save_dir: Path, reap) -> None:
    """A stand-in entry (0.3 s a run) and a runner killed again and again at random moments: each
    run is launched at most once and starts at most once; all but those whose launch was cut before its
    child existed (left launched, `lost`: never queued again) finish."""
    names = [f"r{i}" for i in range(12)]
    save_limits(save_dir, Limits(cpu_slots=2))
    for name in names:
        store.queue(LaunchRequest(REPO / DIGITS, name, save_dir))
    env = {**child_env(), "QUICK_S": "0.3"}
    entry = (*RUNNER_ENTRY, "--poll-s", "0.2", "--trainer", f"{sys.executable} {QUICK}")
    rng = random.Random(14)
    deadline = time.monotonic() + LIMIT_S
    while store.queued_runs(save_dir) and time.monotonic() < deadline:
        pid = ensure_runner(save_dir, env=env, entry=entry)
        time.sleep(rng.uniform(0.2, 0.9))
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: runner_pid(save_dir) is None, LIMIT_S, "the lock to be free")
    assert not store.queued_runs(save_dir)
    for name in names:
        record = read_json(save_dir / name / "run.json")
        assert record is not None and len(record["launches"]) == 1, name
        if record["pid"] is None:  # cut between its launch record and its spawn: launched, not queued
            assert not events(save_dir / name)
            continue
        wait_for(lambda n=name: ended(save_dir, [n]), LIMIT_S, f"{name} to end")
        assert [e["event"] for e in events(save_dir / name)] == ["start", "end"]
        summary = RunSummary()
        summary.update(events(save_dir / name))
        assert run_status(summary, record) == "finished"
