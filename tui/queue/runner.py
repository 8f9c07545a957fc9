"""The queue's runner: `python -m tui.queue.runner --save-dir S`, one detached process per save dir that
launches queued runs, in order, as soon as the devices they need are free, and exits when none waits.

Why a process of its own: a queue must outlive the TUI that filled it, its SSH connection and the
laptop that closed. `ensure_runner` starts it in its own session (no terminal), output to
`save/.queue/runner.log`; it holds `save/.queue/runner.lock` (flock) while it lives, so two TUIs, two
logins or two `ensure_runner` calls at once never run two: the second exits at once.

It keeps no state of its own: every tick it reads what changed on disk (`store.QueueScan`), follows the
save dir's unfinished sweeps (`sweeps.driver`, imported with Optuna only once a sweep exists: it
reports each trial's epochs, prunes, tells), measures what is free (`devices.DeviceMeter`), asks a
sweep for a trial when a device is free for it, and launches what fits, each under the queue's edit lock after
reading the run's `run.json` once more (a run removed or launched meanwhile is left alone). The launch
writes its record into `run.json` before it spawns the child (`tui.launch.local`), so a runner killed at
any moment leaves each run either still queued (never started: the next runner starts it) or launched
(the next runner never starts it again), never both. A tick costs a few `stat`s and one `/proc` read per
live run; NVML is read only while a queued run wants a GPU. Torch- and Textual-free.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tui.errors import LaunchError
from tui.launch.local import Launcher
from tui.launch.slurm import SlurmLauncher
from tui.queue.devices import DeviceMeter, FreeDevices, Need, assign, need_of
from tui.queue.store import (
    QueuedRun,
    QueueScan,
    edit_lock,
    mark_failed,
    paused,
    queue_dir,
    queued_runs,
    still_queued,
    with_devices,
)
from tui.queue.sweeps.spec import SweepScan, unfinished_sweeps

if TYPE_CHECKING:
    from tui.queue.sweeps.driver import SweepDriver

RUNNER_LOCK = "runner.lock"
RUNNER_LOG = "runner.log"
POLL_S = 1.0
RUNNER_ENTRY = (sys.executable, "-m", "tui.queue.runner")


# ---- the lock ----

def try_lock(path: Path) -> int | None:
    """An open descriptor holding an exclusive flock on `path`, or None when another process holds it.
    The lock lives as long as the descriptor (not inherited by children: Python opens it close-on-exec)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def runner_pid(save_dir: Path) -> int | None:
    """The pid of the save dir's live runner; None when no process holds the runner lock."""
    path = queue_dir(save_dir) / RUNNER_LOCK
    if not path.exists():
        return None
    fd = try_lock(path)
    if fd is not None:
        os.close(fd)
        return None
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return -1  # held by a runner that has not written its pid yet


def ensure_runner(save_dir: Path, env: dict[str, str] | None = None,
                  entry: tuple[str, ...] = RUNNER_ENTRY) -> int | None:
    """Start a runner for `save_dir` when runs wait in its queue or a sweep is unfinished, and none
    runs; its pid, or None when nothing was started. Cheap when nothing was ever queued nor swept (no
    `.queue/`, no `.sweeps/`) or a runner lives (one flock try). Two calls at once may both start one:
    the lock lets only one stay."""
    if runner_pid(save_dir) is not None or not _work_waits(save_dir):
        return None
    queue_dir(save_dir).mkdir(parents=True, exist_ok=True)
    with open(queue_dir(save_dir) / RUNNER_LOG, "ab") as log:
        proc = subprocess.Popen([*entry, "--save-dir", str(Path(save_dir).resolve())],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, env=env)
    return proc.pid  # dropped, the Popen is reaped by the next one this process makes (subprocess's rule)


def _work_waits(save_dir: Path) -> bool:
    """Whether a queued run waits or a sweep is unfinished (a `stat` each when neither `.queue/` nor
    `.sweeps/` exists)."""
    return (queue_dir(save_dir).is_dir() and bool(queued_runs(save_dir))) or bool(unfinished_sweeps(save_dir))


# ---- the loop ----

class Runner:
    """One save dir's queue, looked at once per `tick`."""

    def __init__(self, save_dir: Path, launcher: Launcher | None = None, meter: DeviceMeter | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.save_dir = Path(save_dir)
        self.launcher = launcher or Launcher()
        self.scan = QueueScan(self.save_dir)
        self.meter = meter or DeviceMeter(self.save_dir)
        self.log = log
        self.sweeps = SweepScan(self.save_dir)
        self.driver: SweepDriver | None = None

    def tick(self) -> int:
        """Follow the sweeps, ask them for the trials a free device can take, launch every queued run
        that fits now; how many runs still wait plus how many sweeps are unfinished."""
        self.launcher.reap()
        sweeping = self._follow_sweeps()  # first: the trials it queues again are seen at once
        changed = self.scan.refresh()
        self.meter.update(self.scan, changed)
        self._fail_invalid()
        queued = self.scan.queued()
        if paused(self.save_dir):
            return len(queued) + sweeping
        wanting = self.driver.wanting() if self.driver is not None else []
        if not queued and not wanting:
            return sweeping
        local = [r for r in queued if r.request.slurm is None]
        free = self.meter.free(want_gpus=any(r.gpus for r in local) or any(s.gpus for s in wanting))
        if wanting:
            queued = self._ask_trials(queued, free)
        runs = {r.name: r for r in queued}
        given = assign([need_of(r) for r in queued], free)
        return len(queued) - sum(self._launch(runs[name], gpus) for name, gpus in given) + sweeping

    def done(self) -> bool:
        """Whether the queue is empty and every sweep done, looked at afresh under the edit lock; the
        caller releases the runner lock before that lock is released (a run queued or a sweep made
        meanwhile then finds no runner and `ensure_runner` starts one)."""
        self.scan = QueueScan(self.save_dir)
        self.scan.refresh()
        return not self.scan.queued() and not self.scan.invalid and not unfinished_sweeps(self.save_dir)

    def _follow_sweeps(self) -> int:
        """Report, prune and tell the trials of every unfinished sweep; how many are unfinished. The
        driver (and Optuna with it) is loaded the first time a sweep is."""
        if self.driver is None:
            if not self.sweeps.unfinished():
                return 0
            from tui.queue.sweeps.driver import SweepDriver

            self.driver = SweepDriver(self.save_dir, self.log)
        return self.driver.tick()

    def _ask_trials(self, queued: list[QueuedRun], free: FreeDevices) -> list[QueuedRun]:
        """Ask each sweep that wants a trial for as many as the free devices can take after the queued
        runs ahead of them (a trial is asked when it can start, so its sampler knows every result
        there is); the queue with their runs added."""
        assert self.driver is not None
        needs = [need_of(r) for r in queued]
        for sweep in self.driver.wanting():
            while self.driver.wants(sweep) and _fits(needs, self.driver.need(sweep), free):
                run = self.driver.ask(sweep)
                if run is None:
                    continue
                self.scan.reread(run.name)
                needs.append(need_of(run))
        return self.scan.queued()

    def _launch(self, run: QueuedRun, gpus: tuple[int, ...]) -> bool:
        """Launch `run` on `gpus` if it still waits (read again under the edit lock); whether it went."""
        with edit_lock(self.save_dir):
            current = still_queued(run.run_dir)
            if current is None or need_of(current) != need_of(run):
                self.scan.reread(run.name)
                return False
            request = with_devices(current, gpus)
            try:
                with _in_dir(current.workdir):
                    if request.slurm is not None:
                        SlurmLauncher(workdir=Path.cwd()).relaunch(run.run_dir, request)
                    else:
                        self.launcher.relaunch(run.run_dir, request)
            except LaunchError as exc:
                mark_failed(run.run_dir, str(exc))
                self.log(f"cannot launch {run.name}: {exc}")
                return False
            finally:
                self.scan.reread(run.name)
        self.meter.launched(run.name, self.scan.records.get(run.name))
        self.log(f"launched {run.name} on {request.gpus_label() if request.slurm is None else 'slurm'}")
        return True

    def _fail_invalid(self) -> None:
        for name, why in list(self.scan.invalid.items()):
            with edit_lock(self.save_dir):
                mark_failed(self.save_dir / name, f"its queued request is damaged: {why}")
                self.scan.reread(name)
            self.log(f"cannot launch {name}: its queued request is damaged: {why}")


def _fits(needs: list[Need], need: Need, free: FreeDevices) -> bool:
    """Whether `need` gets its devices after every need before it in the queue got theirs."""
    return any(name == need.run for name, _ in assign([*needs, need], free))


@contextmanager
def _in_dir(workdir: Path | None) -> Iterator[None]:
    """Run a launch from the directory the run was queued in (its child inherits it)."""
    here = os.getcwd()
    if workdir is None or not workdir.is_dir():
        yield
        return
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(here)


def serve(save_dir: Path, poll_s: float = POLL_S, launcher: Launcher | None = None) -> int:
    """Hold the runner lock and run the queue until it is empty; 0 at once when another runner lives."""
    lock = try_lock(queue_dir(save_dir) / RUNNER_LOCK)
    if lock is None:
        return 0
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())
    runner = Runner(save_dir, launcher, log=_log)
    _log(f"runner {os.getpid()} started")
    try:
        while True:
            try:
                left = runner.tick()
            except Exception:  # one bad tick (a file gone mid-read) must not strand the queue
                _log(f"tick failed:\n{traceback.format_exc()}")
                left = 1
            if left == 0:
                with edit_lock(save_dir):
                    if runner.done():
                        os.close(lock)
                        lock = -1
                        break
            time.sleep(poll_s)
    finally:
        if lock >= 0:
            os.close(lock)
        runner.meter.close()
    _log(f"runner {os.getpid()} done: the queue is empty")
    return 0


def _log(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.queue.runner",
                                     description="Launch a save dir's queued runs as devices free.")
    parser.add_argument("--save-dir", type=Path, required=True)
    parser.add_argument("--poll-s", type=float, default=POLL_S, help=argparse.SUPPRESS)
    parser.add_argument("--trainer", help=argparse.SUPPRESS)  # another entry command (tests' stand-in)
    args = parser.parse_args(argv)
    launcher = Launcher(entry=tuple(shlex.split(args.trainer))) if args.trainer else None
    return serve(args.save_dir.resolve(), max(0.1, args.poll_s), launcher)


if __name__ == "__main__":
    sys.exit(main())
