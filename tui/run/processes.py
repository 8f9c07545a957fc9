"""A run's processes: find them (the root, DDP ranks, data-loader workers), signal them, wait for them,
and sample them (CPU %, RSS, GPU memory) for the run view.

The run's root comes from `run.json` (the launcher's child, whose pid is its process group) or the
`start` event's pid; every descendant and every member of its group that carries the run's
`TORCHX_RUN_DIR` belongs to the run. A rank is a process started with `RANK`/`LOCAL_RANK` in its
environment (Lightning's DDP launcher sets them; the root is rank 0); anything else below is a worker.
Stop is SIGINT to the group (the trainer saves `last.ckpt`), kill is SIGKILL. Torch- and Textual-free.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import psutil

from torchx.events import is_number
from torchx.experiment import ENV_RUN_DIR, RUN_JSON, read_json
from tui.errors import LaunchError

ENTRY_MODULES = ("torchx.train_pl", "torchx.train")
SETTLED_S = 2.0


def process_alive(pid: Any, create_time: Any = None, started_before: Any = None,
                  boot_time: Any = None) -> bool:
    """Whether `pid` is alive and is the same process (not a reused pid, not a zombie). `create_time` is
    the epoch time psutil gave when it was recorded, `boot_time` psutil's boot time then: psutil adds
    the boot time it reads now to a start counted from boot, so a wall clock set since (NTP, a VM's
    clock catching up after its boot or a suspend) moves every create time; the start counted from
    boot does not move. Records without `boot_time` compare the epoch times."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        born = proc.create_time()
        booted = psutil.boot_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    if is_number(create_time) and is_number(boot_time):
        return abs((born - booted) - (create_time - boot_time)) < 1.0
    if is_number(create_time):
        return abs(born - create_time) < 1.0
    if is_number(started_before):
        return born <= started_before + 1.0
    return True


def run_pid(run_dir: Path, summary_pid: Any = None, summary_create_time: Any = None,
            summary_boot_time: Any = None) -> tuple[int, int] | None:
    """(pid, pgid) of the run's live root process: the launcher's child, else the trainer's own pid."""
    record = read_json(run_dir / RUN_JSON) or {}
    candidates = [(record.get("pid"), record.get("create_time"), record.get("boot_time"), record.get("pgid")),
                  (summary_pid, summary_create_time, summary_boot_time, None)]
    for pid, create_time, boot_time, pgid in candidates:
        if process_alive(pid, create_time, boot_time=boot_time):
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


@dataclass(frozen=True)
class ProcRow:
    pid: int
    ppid: int
    role: str
    name: str
    cpu_percent: float
    rss: int
    gpu_mem: int | None = None


class ProcSampler:
    """Keeps each `psutil.Process` between samples, so CPU % covers the time since the last one."""

    def __init__(self) -> None:
        self._procs: dict[tuple[int, float], psutil.Process] = {}
        self._roles: dict[tuple[int, float], str] = {}

    def sample(self, run_dir: Path, pid: Any = None, create_time: Any = None, boot_time: Any = None,
               gpu_mem: dict[int, int] | None = None) -> list[ProcRow]:
        """The run's live processes, root first, then by pid; [] when it has none."""
        root = run_pid(run_dir, pid, create_time, boot_time)
        if root is None:
            self._procs.clear()
            return []
        found = run_processes(*root)
        keep: dict[tuple[int, float], psutil.Process] = {}
        rows = []
        for proc in found:
            row = self._row(proc, root[0], keep, gpu_mem or {})
            if row is not None:
                rows.append(row)
        self._procs = keep
        self._roles = {k: v for k, v in self._roles.items() if k in keep}
        rows = _name_workers(rows)
        return sorted(rows, key=lambda r: (r.pid != root[0], r.role.startswith("worker"), r.pid))

    def _row(self, proc: psutil.Process, root_pid: int, keep: dict[tuple[int, float], psutil.Process],
             gpu_mem: dict[int, int]) -> ProcRow | None:
        try:
            key = (proc.pid, proc.create_time())
            proc = self._procs.get(key, proc)
            keep[key] = proc
            with proc.oneshot():
                cpu = proc.cpu_percent(None)
                rss = proc.memory_info().rss
                name, ppid = proc.name(), proc.ppid()
        except psutil.Error:
            return None
        role = self._roles.get(key)
        if role is None:
            role = process_role(proc, root_pid)
            if time.time() - key[1] > SETTLED_S:  # before its exec, a child shows its parent's argv
                self._roles[key] = role
        return ProcRow(proc.pid, ppid, role, name, cpu, rss, gpu_mem.get(proc.pid))


def _name_workers(rows: list[ProcRow]) -> list[ProcRow]:
    """`worker` becomes `worker of rank N` after the nearest rank among its ancestors."""
    by_pid = {r.pid: r for r in rows}
    named = []
    for row in rows:
        parent = by_pid.get(row.ppid)
        while parent is not None and parent.role == "worker":
            parent = by_pid.get(parent.ppid)
        if row.role == "worker" and parent is not None and parent.role.startswith("rank"):
            row = replace(row, role=f"worker of {parent.role}")
        named.append(row)
    return named


def process_role(proc: psutil.Process, root_pid: int) -> str:
    """`rank N` for a DDP rank (the root is rank 0 unless it is a launcher), else `worker`.

    A forked data-loader worker inherits its rank's environment, so only the topmost process with
    a given rank is that rank."""
    if proc.pid == root_pid:
        return "rank 0" if is_trainer(proc) else "launcher"
    rank = _env_rank(proc)
    if rank is None:
        return "worker"
    try:
        parent = proc.parent()
    except psutil.Error:
        parent = None
    if parent is not None and parent.pid != root_pid and _env_rank(parent) == rank:
        return "worker"
    return f"rank {rank}"


def _env_rank(proc: psutil.Process) -> str | None:
    try:
        env = proc.environ()
    except psutil.Error:
        return None
    for key in ("RANK", "LOCAL_RANK"):
        if env.get(key, "").isdigit():
            return env[key]
    return None


def is_trainer(proc: psutil.Process) -> bool:
    try:
        cmdline = proc.cmdline()
    except psutil.Error:
        return False
    return any(module in cmdline for module in ENTRY_MODULES)


def run_name_of(pid: int) -> str | None:
    """The run a process belongs to: the `--name`/`--resume` of the nearest trainer among it and its
    ancestors (DDP ranks and data-loader workers inherit or repeat the trainer's command line)."""
    try:
        chain = [psutil.Process(pid)]
        chain += chain[0].parents()
    except psutil.Error:
        return None
    for proc in chain:
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        if any(module in cmdline for module in ENTRY_MODULES):
            for flag in ("--resume", "--name"):
                if flag in cmdline[:-1]:
                    return cmdline[cmdline.index(flag) + 1]
    return None


def trainers_of(run_dir: Path) -> list[int]:
    """Pids of entry processes started for this run from any command line (`--name`/`--resume` its
    name, `--save-dir` its save dir): a resume typed in a shell is busy with the run before it writes
    anything the TUI could see."""
    target = os.path.realpath(run_dir)
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline, cwd = proc.info["cmdline"] or [], proc.info["cwd"]
        if cwd is None or not any(module in cmdline for module in ENTRY_MODULES):
            continue
        name = _flag(cmdline, "--resume") or _flag(cmdline, "--name")
        save_dir = _flag(cmdline, "--save-dir") or "save"
        if name and os.path.realpath(os.path.join(cwd, save_dir, name)) == target:
            found.append(proc.pid)
    return found


def _flag(cmdline: list[str], flag: str) -> str | None:
    return cmdline[cmdline.index(flag) + 1] if flag in cmdline[:-1] else None


def describe(pid: int) -> tuple[str, str]:
    """(user, command name) of any process, for the GPU screen's foreign processes."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            return proc.username(), proc.name()
    except psutil.Error:
        return "?", "?"
