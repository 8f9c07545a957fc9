"""Launch, stop, kill and resume with real subprocesses and real signals (a stand-in trainer)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from torchx.experiment import reserve_run_dir
from tui.errors import LaunchError
from tui.launch import local
from tui.launch.local import Launcher
from tui.launch.request import LaunchRequest
from tui.run import processes

FAKE = Path(__file__).with_name("fake_trainer.py")


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def events(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def fake_launcher(reap_groups: list[int]) -> Launcher:
    class Tracking(Launcher):
        def _spawn(self, run_dir, argv, gpus, previous, token=None):  # type: ignore[no-untyped-def]
            super()._spawn(run_dir, argv, gpus, previous, token)
            reap_groups.append(self.children[-1].pid)

    return Tracking(entry=(sys.executable, str(FAKE)))


def request(tmp_path: Path, name: str = "r1", **kwargs) -> LaunchRequest:  # type: ignore[no-untyped-def]
    return LaunchRequest(Path("configs/x.yaml"), name, tmp_path, **kwargs)


def test_launch_detaches_and_records(tmp_path: Path, fake_launcher: Launcher) -> None:
    run_dir = fake_launcher.launch(request(tmp_path, overrides=("a.b=1",)))
    record = json.loads((run_dir / "run.json").read_text())
    proc = psutil.Process(record["pid"])
    assert record["pgid"] == record["pid"] == os.getpgid(record["pid"]) != os.getpgrp()
    assert os.getsid(record["pid"]) == record["pid"]  # its own session: no terminal of ours
    assert abs(proc.create_time() - record["create_time"]) < 0.01
    assert record["backend"] == "local" and record["gpus"] == "cpu" and len(record["launches"]) == 1
    assert record["argv"][2:] == ["--config", "configs/x.yaml", "--name", "r1", "--save-dir", str(tmp_path),
                                  "--gpu", "cpu", "a.b=1"]
    wait_for(lambda: len(events(run_dir)) > 1)
    processes.kill(*processes.run_pid(run_dir))


def test_device_arguments() -> None:
    base = LaunchRequest(Path("c.yaml"), "n", Path("s"))
    assert base.device_args() == (["--gpu", "cpu"], [])
    assert LaunchRequest(Path("c.yaml"), "n", Path("s"), gpus=(0, 2)).device_args() == (["--gpu", "0,2"], [])
    flags, overrides = LaunchRequest(Path("c.yaml"), "n", Path("s"), cpu_processes=2).device_args()
    assert flags == []
    assert "trainer_params.devices=2" in overrides and "trainer_params.strategy=ddp" in overrides


def test_existing_name_is_refused(tmp_path: Path, fake_launcher: Launcher) -> None:
    reserve_run_dir(tmp_path, "taken")
    with pytest.raises(LaunchError, match="already exists"):
        fake_launcher.launch(request(tmp_path, "taken"))
    with pytest.raises(LaunchError, match="must not contain"):
        fake_launcher.launch(request(tmp_path, "../escape"))
    assert fake_launcher.children == [] and not (tmp_path.parent / "escape").exists()


def test_spawn_failure_releases_the_name(tmp_path: Path) -> None:
    broken = Launcher(entry=(str(tmp_path / "no-such-python"),))
    with pytest.raises(LaunchError, match="cannot start"):
        broken.launch(request(tmp_path, "ghost"))
    assert not (tmp_path / "ghost").exists()


def test_stop_leaves_no_process_and_resume_continues(tmp_path: Path, fake_launcher: Launcher) -> None:
    run_dir = fake_launcher.launch(request(tmp_path))
    wait_for(lambda: any(e["event"] == "epoch" for e in events(run_dir)))
    pid, pgid = processes.run_pid(run_dir)
    procs = processes.run_processes(pid, pgid)
    assert len(procs) == 2  # the trainer and its worker
    processes.stop(pid, pgid)
    assert processes.wait_gone(pid, pgid, timeout=10)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs)
    assert events(run_dir)[-1]["event"] == "end" and (run_dir / "ckpt" / "last.ckpt").exists()

    fake_launcher.resume(run_dir)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["argv"][2:] == ["--resume", "r1", "--save-dir", str(tmp_path), "--gpu", "cpu"]
    assert len(record["launches"]) == 2 and record["launches"][0]["pid"] == pid != record["pid"]
    wait_for(lambda: sum(e["event"] == "start" for e in events(run_dir)) == 2)
    with pytest.raises(LaunchError, match="still running"):
        fake_launcher.resume(run_dir)
    processes.kill(*processes.run_pid(run_dir))


def test_kill_takes_the_whole_group(tmp_path: Path, fake_launcher: Launcher) -> None:
    run_dir = fake_launcher.launch(request(tmp_path))
    wait_for(lambda: len(events(run_dir)) > 1)
    pid, pgid = processes.run_pid(run_dir)
    procs = processes.run_processes(pid, pgid)
    processes.kill(pid, pgid)
    assert processes.wait_gone(pid, pgid, timeout=10)
    fake_launcher.reap()
    assert fake_launcher.children == []
    assert not [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert events(run_dir)[-1]["event"] == "epoch"  # no word: the table will call it lost


def test_never_signals_own_group() -> None:
    with pytest.raises(LaunchError, match="refusing"):
        processes.stop(os.getpid(), os.getpgrp())


def test_two_launchers_race_for_one_name(tmp_path: Path, fake_launcher: Launcher) -> None:
    import threading

    other = type(fake_launcher)(entry=fake_launcher.entry)
    barrier, results = threading.Barrier(2), []

    def go(launcher_: Launcher) -> None:
        barrier.wait()
        try:
            results.append(launcher_.launch(request(tmp_path, "same")))
        except LaunchError as exc:
            results.append(exc)

    threads = [threading.Thread(target=go, args=(x,)) for x in (fake_launcher, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(r).__name__ for r in results) == ["LaunchError", "PosixPath"]
    assert len(fake_launcher.children) + len(other.children) == 1
    processes.kill(*processes.run_pid(tmp_path / "same"))


def test_resume_uses_the_entry_that_started_the_run(tmp_path: Path) -> None:
    previous = {"argv": ["/py", "-m", "torchx.train", "--config", "c.yaml", "--name", "n", "--gpu", "0,1"]}
    argv = local.resume_argv(local.DEFAULT_ENTRY, tmp_path / "n", previous)
    python = local.DEFAULT_ENTRY[0]
    assert argv == [python, "-m", "torchx.train", "--resume", "n", "--save-dir", str(tmp_path),
                    "--gpu", "0,1"]
    assert local.resume_argv(("x",), tmp_path / "n", None) == ["x", "--resume", "n", "--save-dir",
                                                                   str(tmp_path)]


@pytest.mark.parametrize("argv", [
    ["/bin/sh", "-c", "touch pwned", "-m", "torchx.train_pl", "--name", "n"],
    ["/py", "-m", "os", "--name", "n"],
    ["/py", "-m", "torchx.train_pl", "--gpu", "0; touch pwned"],
    "not a list",
])
def test_resume_never_runs_a_tampered_argv(tmp_path: Path, argv: object) -> None:
    """What runs is this TUI's interpreter and one of the entry modules, whatever run.json says."""
    resumed = local.resume_argv(local.DEFAULT_ENTRY, tmp_path / "n", {"argv": argv})
    assert resumed[:3] in ([local.DEFAULT_ENTRY[0], "-m", "torchx.train_pl"],
                           [local.DEFAULT_ENTRY[0], "-m", "torchx.train"])
    assert resumed[3:] == ["--resume", "n", "--save-dir", str(tmp_path)]


def test_lingering_worker_of_a_dead_run_is_found_and_killed(tmp_path: Path, fake_launcher: Launcher) -> None:
    run_dir = fake_launcher.launch(request(tmp_path))
    wait_for(lambda: len(events(run_dir)) > 1)
    pid, pgid = processes.run_pid(run_dir)
    os.kill(pid, 9)  # rank 0 dies alone (OOM killer); its worker lives on in the group
    fake_launcher.reap()
    wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    members = processes.group_members(run_dir, pgid)
    assert len(members) == 1 and members[0].pid != pid
    assert processes.run_pid(run_dir) == (pid, pgid)
    assert processes.group_members(tmp_path / "other", pgid) == []  # another run's group: not ours
    processes.kill(pid, pgid)
    assert processes.wait_gone(pid, pgid, timeout=10)
    assert processes.run_pid(run_dir) is None
