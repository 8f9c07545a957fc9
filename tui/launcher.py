"""Start, stop, kill and resume runs as detached local processes, and find every process of a run.

A launch reserves `save/<name>/` atomically (the lock that keeps two TUIs from launching one name),
spawns the trainer in its own session with no terminal, and records how in `run.json`. Stop and kill
signal the run's process group. Torch- and Textual-free.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import psutil

from torchx.experiment import (
    ENV_RUN_DIR,
    RUN_JSON,
    STDOUT_FILE,
    RunDirError,
    process_alive,
    read_json,
    reserve_run_dir,
    write_atomic,
)

if TYPE_CHECKING:
    from tui.slurm import SlurmSpec

DEFAULT_ENTRY = (sys.executable, "-m", "torchx.train_pl")


class LaunchError(Exception):
    """A launch, stop or resume that could not be done, with a one-line reason."""


def cpu_ddp_overrides(processes: int) -> list[str]:
    """What a local launch adds, ahead of the user's overrides, for DDP over `processes` CPU ranks."""
    return ["trainer_params.accelerator=cpu", f"trainer_params.devices={processes}",
            "trainer_params.strategy=ddp"]


@dataclass(frozen=True)
class LaunchRequest:
    """Everything the launch dialog collects."""

    config: Path
    name: str
    save_dir: Path
    gpus: tuple[int, ...] = ()
    cpu_processes: int = 1
    overrides: tuple[str, ...] = ()
    slurm: SlurmSpec | None = None
    """Set for the Slurm backend: its fields replace `gpus` and `cpu_processes`."""

    def device_args(self) -> tuple[list[str], list[str]]:
        """(entry flags, overrides) selecting the GPUs, or CPU with `cpu_processes` DDP ranks."""
        if self.gpus:
            return ["--gpu", ",".join(str(g) for g in self.gpus)], []
        if self.cpu_processes > 1:
            return [], cpu_ddp_overrides(self.cpu_processes)
        return ["--gpu", "cpu"], []

    def gpus_label(self) -> str:
        if self.gpus:
            return ",".join(str(g) for g in self.gpus)
        return "cpu" if self.cpu_processes == 1 else f"cpu×{self.cpu_processes}"


@dataclass
class Launcher:
    """Spawns trainers with `entry` (argv prefix) and reaps the ones this process started."""

    entry: tuple[str, ...] = DEFAULT_ENTRY
    env: dict[str, str] | None = None
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    name: ClassVar[str] = "local"

    def launch(self, request: LaunchRequest) -> Path:
        """Reserve the directory, spawn the trainer, write `run.json`; raises LaunchError."""
        flags, device_overrides = request.device_args()
        argv = [*self.entry, "--config", str(request.config), "--name", request.name,
                "--save-dir", str(request.save_dir), *flags, *device_overrides, *request.overrides]
        return launch_in_new_dir(request, lambda run_dir: self._spawn(run_dir, argv, request.gpus_label(),
                                                                       previous=None))

    def resume(self, run_dir: Path) -> None:
        """Relaunch a settled run in its own directory with `--resume <name>`."""
        previous = read_json(run_dir / RUN_JSON)
        if previous and process_alive(previous.get("pid"), previous.get("create_time")):
            raise LaunchError(f"run '{run_dir.name}' is still running (pid {previous['pid']})")
        argv = resume_argv(self.entry, run_dir, previous)
        gpus = (previous or {}).get("gpus", "")
        self._spawn(run_dir, argv, gpus, previous=previous)

    def _spawn(self, run_dir: Path, argv: list[str], gpus: Any, previous: dict[str, Any] | None) -> None:
        launched_at = time.time()
        try:
            with open(run_dir / STDOUT_FILE, "ab") as out:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True, close_fds=True, env=self.env)
        except OSError as exc:
            raise LaunchError(f"cannot start {argv[0]}: {exc}") from None
        self.children.append(proc)
        write_run_json(run_dir, run_record(proc, argv, gpus, launched_at, previous))

    def reap(self) -> None:
        """Collect exit statuses of finished children so they do not linger as zombies."""
        self.children = [p for p in self.children if p.poll() is None]


def launch_in_new_dir(request: LaunchRequest, start: Callable[[Path], None]) -> Path:
    """Reserve `save_dir/name` and `start` the run in it, any backend; a start that fails with a
    LaunchError frees the name again. Raises LaunchError."""
    try:
        run_dir = reserve_run_dir(request.save_dir, request.name)
    except (RunDirError, OSError) as exc:
        raise LaunchError(str(exc)) from None
    try:
        start(run_dir)
    except LaunchError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir


def write_run_json(run_dir: Path, record: dict[str, Any]) -> None:
    """Atomically, through a temporary file beside the run directory, never in it: the trainer takes a
    reserved directory only while it holds nothing but the launcher's files."""
    write_atomic(run_dir / RUN_JSON, json.dumps(record, indent=2), temp_dir=run_dir.parent)


def run_record(proc: subprocess.Popen[bytes], argv: list[str], gpus: Any, launched_at: float,
               previous: dict[str, Any] | None) -> dict[str, Any]:
    """The `run.json` object of a local launch."""
    try:
        create_time: float | None = psutil.Process(proc.pid).create_time()
    except psutil.Error:
        create_time = None
    launch = {"argv": argv, "pid": proc.pid, "pgid": proc.pid, "host": socket.gethostname(),
              "gpus": gpus, "launched_at": launched_at, "create_time": create_time, "backend": Launcher.name}
    return with_history(launch, previous)


def with_history(launch: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The `run.json` object of a (re)launch, any backend: earlier ones kept in `launches`, oldest first."""
    launches = list((previous or {}).get("launches") or [])
    if previous and not launches:
        launches = [{k: previous.get(k) for k in launch}]
    return {**launch, "launches": [*launches, launch]}


def resume_argv(entry: tuple[str, ...], run_dir: Path, previous: dict[str, Any] | None) -> list[str]:
    """`--resume <name>` in the same save dir and on the same devices; the entry reads the run's own
    `config.yaml` (overrides included), so neither `--config` nor the overrides are repeated."""
    old = [str(a) for a in (previous or {}).get("argv") or []]
    device = ["--gpu", old[old.index("--gpu") + 1]] if "--gpu" in old[:-1] else []
    if "-m" in old[:-1] and old[old.index("-m") + 1].startswith("torchx."):
        entry = tuple(old[: old.index("-m") + 2])  # the entry that started it: checkpoints differ
    return [*entry, "--resume", run_dir.name, "--save-dir", str(run_dir.parent), *device]


# ---- the processes of a run ----

def run_pid(run_dir: Path, summary_pid: Any = None,
            summary_create_time: Any = None) -> tuple[int, int] | None:
    """(pid, pgid) of the run's live root process: the launcher's child, else the trainer's own pid."""
    record = read_json(run_dir / RUN_JSON) or {}
    candidates = [(record.get("pid"), record.get("create_time"), record.get("pgid")),
                  (summary_pid, summary_create_time, None)]
    for pid, create_time, pgid in candidates:
        if process_alive(pid, create_time):
            try:
                return pid, pgid if isinstance(pgid, int) else os.getpgid(pid)
            except OSError:
                continue
    pgid = record.get("pgid")
    if isinstance(pgid, int) and group_members(run_dir, pgid):
        return int(record.get("pid") or pgid), pgid  # the root died; ranks or workers linger
    return None


@dataclass(frozen=True)
class LocalRun:
    """What stop and kill act on for a local run: its root process and its process group."""

    pid: int
    pgid: int
    stop_note: ClassVar[str] = "SIGINT sent"
    kill_note: ClassVar[str] = "SIGKILL to every process: no checkpoint is written"
    kill_wait_s: ClassVar[float] = 10.0

    def stop(self) -> None:
        stop(self.pid, self.pgid)

    def kill(self) -> None:
        kill(self.pid, self.pgid)

    def wait_gone(self, timeout: float) -> bool:
        return wait_gone(self.pid, self.pgid, timeout)


def group_members(run_dir: Path, pgid: int) -> list[psutil.Process]:
    """Live processes of group `pgid` that belong to this run (their TORCHX_RUN_DIR says so), so a
    group id reused by another program after the run's processes are all gone is never signalled."""
    target = os.path.realpath(run_dir)
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) != pgid or not _alive(proc):
                continue
            value = proc.environ().get(ENV_RUN_DIR)
            if value and os.path.realpath(os.path.join(proc.cwd(), value)) == target:
                members.append(proc)
        except (OSError, psutil.Error):
            continue
    return members


def run_processes(pid: int, pgid: int) -> list[psutil.Process]:
    """The root process, its descendants (DDP ranks, data-loader workers) and the rest of its group."""
    found: dict[int, psutil.Process] = {}
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            found[proc.pid] = proc
    except psutil.Error:
        pass
    for proc in psutil.process_iter():
        try:
            if proc.pid not in found and os.getpgid(proc.pid) == pgid:
                found[proc.pid] = proc
        except (OSError, psutil.Error):
            continue
    return [p for p in found.values() if _alive(p)]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop(pid: int, pgid: int) -> None:
    """SIGINT to the run's process group: the trainer saves `last.ckpt` and writes `end: stopped`."""
    _signal_group(pgid, signal.SIGINT)


def kill(pid: int, pgid: int) -> None:
    """SIGKILL to the group, then to any descendant that escaped it (a child that called setsid)."""
    procs = run_processes(pid, pgid)
    _signal_group(pgid, signal.SIGKILL)
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    if pgid <= 1 or pgid == os.getpgrp():
        raise LaunchError(f"refusing to signal process group {pgid}")
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise LaunchError(f"cannot signal process group {pgid}: {exc}") from None


def wait_gone(pid: int, pgid: int, timeout: float, interval: float = 0.2) -> bool:
    """Poll until no process of the run is left; False when `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while run_processes(pid, pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True
