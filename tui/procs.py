"""A run's processes — DDP ranks and their data-loader workers — with CPU %, RSS and GPU memory.

The run's root comes from `run.json` (the launcher's child, whose pid is its process group) or the
`start` event's pid; every descendant and every member of its group belongs to the run. A rank is a
process started with `RANK`/`LOCAL_RANK` in its environment (Lightning's DDP launcher sets them; the
root is rank 0); anything else below is a worker. Torch- and Textual-free.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psutil

from tui import launcher

ENTRY_MODULES = ("torchx.train_pl", "torchx.train")
SETTLED_S = 2.0


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

    def sample(self, run_dir: Path, pid: Any = None, create_time: Any = None,
               gpu_mem: dict[int, int] | None = None) -> list[ProcRow]:
        """The run's live processes, root first, then by pid; [] when it has none."""
        root = launcher.run_pid(run_dir, pid, create_time)
        if root is None:
            self._procs.clear()
            return []
        found = launcher.run_processes(*root)
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


def describe(pid: int) -> tuple[str, str]:
    """(user, command name) of any process, for the GPU screen's foreign processes."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            return proc.username(), proc.name()
    except psutil.Error:
        return "?", "?"
