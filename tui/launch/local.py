"""The local backend: start and resume runs as detached processes of this machine.

The trainer runs in its own session (its pid is its process group) with no terminal and its output in
`stdout.log`, so closing the TUI or dropping the SSH connection never stops it. Stop and kill act on
the process group (`tui.run.processes.LocalRun`). Torch- and Textual-free.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import psutil

from torchx.experiment import RUN_JSON, STDOUT_FILE, read_json
from tui.errors import LaunchError
from tui.launch.request import (
    LaunchRequest,
    launch_in_new_dir,
    new_token,
    reservation_env,
    with_history,
    write_run_json,
)
from tui.run.processes import ENTRY_MODULES, process_alive

DEFAULT_ENTRY = (sys.executable, "-m", "torchx.train_pl")
_GPU_VALUE = re.compile(r"^(cpu|\d+(,\d+)*)$")


@dataclass
class Launcher:
    """Spawns trainers with `entry` (argv prefix) and reaps the ones this process started."""

    entry: tuple[str, ...] = DEFAULT_ENTRY
    env: dict[str, str] | None = None
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    name: ClassVar[str] = "local"

    def launch(self, request: LaunchRequest) -> Path:
        """Reserve the directory, spawn the trainer, write `run.json`; raises LaunchError."""
        return launch_in_new_dir(request, lambda run_dir, token: self._spawn(
            run_dir, self._argv(request), request.gpus_label(), previous=None, token=token))

    def relaunch(self, run_dir: Path, request: LaunchRequest) -> None:
        """Start a run that never started (killed before its `start`) again in its own directory."""
        previous = self._not_running(run_dir)
        self._spawn(run_dir, self._argv(request), request.gpus_label(), previous, new_token())

    def _argv(self, request: LaunchRequest) -> list[str]:
        flags, device_overrides = request.device_args()
        return [*self.entry, "--config", str(request.config), "--name", request.name,
                "--save-dir", str(request.save_dir), *flags, *device_overrides, *request.overrides]

    def resume(self, run_dir: Path) -> None:
        """Relaunch a settled run in its own directory with `--resume <name>`."""
        previous = self._not_running(run_dir)
        argv = resume_argv(self.entry, run_dir, previous)
        gpus = (previous or {}).get("gpus", "")
        self._spawn(run_dir, argv, gpus, previous=previous)

    @staticmethod
    def _not_running(run_dir: Path) -> dict[str, Any] | None:
        """The run's `run.json`; LaunchError while the process it names still runs."""
        previous = read_json(run_dir / RUN_JSON)
        if previous and process_alive(previous.get("pid"), previous.get("create_time"),
                                      boot_time=previous.get("boot_time")):
            raise LaunchError(f"run '{run_dir.name}' is still running (pid {previous['pid']})")
        return previous

    def _spawn(self, run_dir: Path, argv: list[str], gpus: Any, previous: dict[str, Any] | None,
               token: str | None = None) -> None:
        launched_at = time.time()
        try:
            with open(run_dir / STDOUT_FILE, "ab") as out:
                offset = out.tell()
                # The launch is on disk before its child exists (its pid follows): a launcher killed in
                # between leaves a launch, never a run that looks unlaunched (a queue would start it twice).
                record = run_record(None, argv, gpus, launched_at, previous, token)
                write_run_json(run_dir, {**record, "stdout_offset": offset})
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True, close_fds=True,
                                        env=reservation_env(token, self.env))
        except OSError as exc:
            _restore(run_dir, previous)
            raise LaunchError(f"cannot start {argv[0]}: {exc}") from None
        self.children.append(proc)
        record = run_record(proc, argv, gpus, launched_at, previous, token)
        write_run_json(run_dir, {**record, "stdout_offset": offset})

    def reap(self) -> None:
        """Collect exit statuses of finished children so they do not linger as zombies."""
        self.children = [p for p in self.children if p.poll() is None]


def run_record(proc: subprocess.Popen[bytes] | None, argv: list[str], gpus: Any, launched_at: float,
               previous: dict[str, Any] | None, token: str | None = None) -> dict[str, Any]:
    """The `run.json` object of a local launch (`proc` None: before its child is spawned)."""
    pid = proc.pid if proc is not None else None
    try:
        create_time: float | None = psutil.Process(pid).create_time() if pid is not None else None
    except psutil.Error:
        create_time = None
    launch = {"argv": argv, "pid": pid, "pgid": pid, "host": socket.gethostname(),
              "gpus": gpus, "launched_at": launched_at, "create_time": create_time,
              "boot_time": psutil.boot_time() if create_time is not None else None, "backend": Launcher.name,
              "reservation": token}
    return with_history(launch, previous)


def _restore(run_dir: Path, previous: dict[str, Any] | None) -> None:
    """Put back the `run.json` a launch that could not spawn replaced (a new directory's is removed)."""
    try:
        if previous is None:
            (run_dir / RUN_JSON).unlink(missing_ok=True)
        else:
            write_run_json(run_dir, previous)
    except OSError:
        pass


def resume_argv(entry: tuple[str, ...], run_dir: Path, previous: dict[str, Any] | None) -> list[str]:
    """`--resume <name>` in the same save dir, on the same devices, with the entry module that started
    it (their checkpoints differ); the entry reads the run's own `config.yaml`, so neither `--config`
    nor the overrides are repeated. Built from checked fields, never from the stored argv: this TUI's
    interpreter, one of the entry modules, a `--gpu` of indices or `cpu`, so a tampered `run.json`
    cannot choose what runs."""
    stored = (previous or {}).get("argv")
    old = [str(a) for a in stored] if isinstance(stored, list) else []
    gpu = old[old.index("--gpu") + 1] if "--gpu" in old[:-1] else None
    device = ["--gpu", gpu] if gpu is not None and _GPU_VALUE.match(gpu) else []
    module = old[old.index("-m") + 1] if "-m" in old[:-1] else None
    if module in ENTRY_MODULES and len(entry) == 3 and entry[1] == "-m":
        entry = (entry[0], "-m", module)
    return [*entry, "--resume", run_dir.name, "--save-dir", str(run_dir.parent), *device]
