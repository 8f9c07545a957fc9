"""The queue on disk and one runner tick, with a stand-in entry (real processes, no torch): queue, list,
move, remove, pause; `queued` through the status and the table's row code; what a launch leaves in
`run.json`; damaged entries; the launch record written before the child exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, wait_for
from torchx.events import read_events
from torchx.experiment import read_json
from torchx.summary import RunSummary
from tui.errors import LaunchError
from tui.history.tidy import trash_entries
from tui.launch.local import Launcher, run_record
from tui.launch.request import LaunchRequest, new_token, reservation_env, write_run_json
from tui.queue import store
from tui.queue.devices import DeviceMeter, Limits, save_limits
from tui.queue.runner import Runner
from tui.run.status import run_status
from tui.table.scanner import RunsScanner

QUICK = Path(__file__).with_name("quick_trainer.py")
DIGITS = REPO / "configs" / "digits-classification.yaml"


def request(save: Path, name: str, *overrides: str, cpu: int = 1) -> LaunchRequest:
    return LaunchRequest(DIGITS, name, save, cpu_processes=cpu, overrides=overrides)


def statuses(save: Path) -> dict[str, str]:
    scanner = RunsScanner(save)
    return {row.name: row.status for row in scanner.poll()[0]}


def events(run_dir: Path) -> list[dict]:
    return read_events(run_dir / "events.jsonl")[0] if (run_dir / "events.jsonl").exists() else []


def runner(save: Path, slots: int = 1) -> Runner:
    save_limits(save, Limits(cpu_slots=slots))
    return Runner(save, Launcher(entry=(sys.executable, str(QUICK))), DeviceMeter(save), log=lambda _: None)


def test_a_queued_run_is_a_reserved_dir_whose_run_json_holds_the_request(save_dir: Path) -> None:
    first = store.queue(request(save_dir, "a", "seed=1"), now=100.0)
    second = store.queue(request(save_dir, "b", cpu=2), now=101.0)
    record = json.loads((save_dir / "a" / "run.json").read_text())
    assert set(record) == {"queued"} and sorted(os.listdir(save_dir / "a")) == ["run.json"]
    assert record["queued"] == {"position": 1, "queued_at": 100.0, "request": {
        "config": str(DIGITS), "name": "a", "save_dir": str(save_dir.resolve()), "gpus": 0,
        "cpu_processes": 1, "overrides": ["seed=1"], "slurm": None, "workdir": str(Path.cwd())}}
    assert [r.name for r in store.queued_runs(save_dir)] == ["a", "b"]
    assert (first.position, second.position, second.wanted_label()) == (1, 2, "cpu×2")
    assert run_status(RunSummary(), record) == "queued"
    assert statuses(save_dir) == {"a": "queued", "b": "queued"}  # the table's row code


def test_a_taken_name_is_refused_and_nothing_is_written(save_dir: Path) -> None:
    store.queue(request(save_dir, "a"))
    with pytest.raises(LaunchError, match="already exists"):
        store.queue(request(save_dir, "a"))
    with pytest.raises(LaunchError, match="must not contain"):
        store.queue(request(save_dir, "../out"))
    assert [r.name for r in store.queued_runs(save_dir)] == ["a"] and not (save_dir.parent / "out").exists()


def test_move_and_remove(save_dir: Path) -> None:
    for name in "abcd":
        store.queue(request(save_dir, name))
    assert store.move(save_dir, "d", -2) == 2
    assert store.move(save_dir, "a", 10) == 4
    runs = store.queued_runs(save_dir)
    assert [(r.name, r.position) for r in runs] == [("d", 1), ("b", 2), ("c", 3), ("a", 4)]
    store.remove(save_dir, "d")
    assert [r.name for r in store.queued_runs(save_dir)] == ["b", "c", "a"]
    assert [e.run for e in trash_entries(save_dir)] == ["d"]
    with pytest.raises(LaunchError, match="not in the queue"):
        store.remove(save_dir, "d")
    assert store.queue(request(save_dir, "e")).position == 5  # one past the last ever given


def test_damaged_entries_are_not_queued_and_a_bad_request_fails(save_dir: Path) -> None:
    store.queue(request(save_dir, "good"))
    (save_dir / "torn").mkdir()
    (save_dir / "torn" / "run.json").write_text('{"queued": {"position": 1,')
    bad = store.queue(request(save_dir, "bad"))
    record = json.loads((bad.run_dir / "run.json").read_text())
    record["queued"]["request"]["overrides"] = ["not an override"]
    (bad.run_dir / "run.json").write_text(json.dumps(record))
    assert [r.name for r in store.queued_runs(save_dir)] == ["good"]
    store.pause(save_dir)
    run = runner(save_dir)
    assert run.tick() == 1  # paused: nothing launched, the damaged request marked failed
    assert statuses(save_dir) == {"good": "queued", "bad": "failed", "torn": "damaged"}
    assert "damaged" in json.loads((bad.run_dir / "run.json").read_text())["queued"]["error"]


def test_a_tick_launches_into_the_reserved_dir_in_order_as_slots_free(save_dir: Path) -> None:
    for name in "abc":
        store.queue(request(save_dir, name, f"seed={ord(name)}"))
    store.pause(save_dir)
    run = runner(save_dir, slots=2)
    assert run.tick() == 3 and statuses(save_dir) == dict.fromkeys("abc", "queued")
    store.resume(save_dir)
    assert run.tick() == 1  # two slots: a and b go, c waits
    record = json.loads((save_dir / "a" / "run.json").read_text())
    assert record["queued"]["position"] == 1 and len(record["launches"]) == 1
    assert record["argv"][-3:] == ["--gpu", "cpu", "seed=97"] and record["reservation"]
    assert statuses(save_dir)["c"] == "queued"
    wait_for(lambda: run.tick() == 0, what="c to be launched")
    for name in "abc":
        wait_for(lambda n=name: any(e["event"] == "end" for e in events(save_dir / n)), what=f"{name} to end")
    assert statuses(save_dir) == dict.fromkeys("abc", "finished")
    assert all([e["event"] for e in events(save_dir / n)] == ["start", "end"] for n in "abc")


def test_the_launch_is_on_disk_before_its_child_and_a_failed_spawn_restores_the_queue(save_dir: Path) -> None:
    queued = store.queue(request(save_dir, "a"))
    broken = Launcher(entry=(str(save_dir / "no-such-python"),))
    with pytest.raises(LaunchError, match="cannot start"):
        broken.relaunch(queued.run_dir, store.with_devices(queued, ()))
    assert [r.name for r in store.queued_runs(save_dir)] == ["a"]  # the queued block is back, whole
    pending = {"backend": "local", "host": os.uname().nodename, "launched_at": time.time(), "pid": None}
    assert run_status(RunSummary(), {**pending, "queued": {}}) == "starting"
    assert run_status(RunSummary(), {**pending, "launched_at": time.time() - 60}) == "failed"


def crash_record(run: store.QueuedRun, token: str, launched_at: float) -> list[str]:
    """Write what a runner killed between its two writes leaves: the launch on disk, no pid; its argv."""
    argv = [sys.executable, str(QUICK), "--config", str(DIGITS), "--name", run.name, "--save-dir",
            str(run.run_dir.parent), "--gpu", "cpu"]
    previous = read_json(run.run_dir / "run.json")
    write_run_json(run.run_dir, run_record(None, argv, "cpu", launched_at, previous, token))
    return argv


def test_killed_after_the_spawn_before_the_pid_the_run_goes_on_holding_its_slot(save_dir: Path, reap) -> None:
    a = store.queue(request(save_dir, "a"))
    store.queue(request(save_dir, "b"))
    token = new_token()
    argv = crash_record(a, token, time.time())
    subprocess.Popen(argv, env={**reservation_env(token), "QUICK_S": "2"}, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, start_new_session=True)  # the child the killed runner spawned
    run = runner(save_dir, slots=1)
    assert run.tick() == 1 and statuses(save_dir) == {"a": "starting", "b": "queued"}
    wait_for(lambda: events(save_dir / "a"), what="a to start")
    assert run.tick() == 1  # a holds the one slot though its pid was never recorded
    wait_for(lambda: run.tick() == 0, what="b to be launched after a")
    wait_for(lambda: all(len(events(save_dir / n)) == 2 for n in "ab"), what="a and b to end")
    assert statuses(save_dir) == {"a": "finished", "b": "finished"}
    assert len(read_json(a.run_dir / "run.json")["launches"]) == 1  # type: ignore[index]
    b_start = events(save_dir / "b")[0]["time"]
    assert b_start >= events(save_dir / "a")[1]["time"]


def test_killed_after_the_launch_record_before_the_spawn_the_run_is_lost_not_queued(save_dir: Path) -> None:
    a = store.queue(request(save_dir, "a"))
    crash_record(a, new_token(), time.time() - 60)  # long ago: no child ever came
    assert not store.queued_runs(save_dir)
    assert runner(save_dir).tick() == 0 and not events(save_dir / "a")
    assert statuses(save_dir) == {"a": "lost"}  # `r` launches it again from its run.json
