"""Which devices are free for the queue, and which queued runs get them.

`assign` is the rule, pure so a property test can drive it: walk the queue in order and give each run
that fits what is still free the devices it needs; a run that does not fit never blocks a later one
that does (so no fitting run ever waits while its devices sit free; a big run can be overtaken).

What is free is measured (`DeviceMeter`): a GPU is free when no live run of this save dir holds it
(its `run.json` `gpus` while its process lives) and NVML shows no compute process on it, nor, with
`gpu_mem_mib` set, more memory used than that (a process NVML cannot show, from another container).
The CPU has slots counted in processes: `cpu_slots` (default: the machine's cores), less the processes
of the live CPU runs (`cpu` takes 1, `cpu×4` takes 4); a queued CPU run takes `cpu_processes` slots.
Slurm places its own jobs: the queue only keeps at most `slurm_jobs` of its runs submitted at once.
The limits live in `save/.queue/limits.json`. Torch- and Textual-free.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torchx.experiment import read_json, write_atomic
from tui.queue.store import QueuedRun, QueueScan, queue_dir
from tui.run.files import first_start
from tui.run.jobs import JobStates, job_of
from tui.run.processes import process_alive, trainers_of
from tui.run.status import SLURM, job_active, launch_pending
from tui.system.gpus import GpuReading, GpuSampler

LIMITS_FILE = "limits.json"
JOB_STATES_AGE_S = 5.0
"""One `squeue` at most this often while queued Slurm runs are in flight."""
MIB = 1 << 20


@dataclass(frozen=True)
class Need:
    """What one queued run needs: GPUs, CPU slots, or a Slurm submission."""

    run: str
    gpus: int = 0
    cpu: int = 0
    slurm: bool = False


@dataclass(frozen=True)
class FreeDevices:
    gpus: tuple[int, ...] = ()
    cpu_slots: int = 0
    slurm_slots: int = 0


def assign(queued: Sequence[Need], free: FreeDevices) -> list[tuple[str, tuple[int, ...]]]:
    """(run, its GPU ids) for each queued run, in queue order, that fits what the runs before it left
    free: the lowest free GPU ids, or CPU slots, or a Slurm slot."""
    gpus, slots, slurm = list(free.gpus), free.cpu_slots, free.slurm_slots
    given: list[tuple[str, tuple[int, ...]]] = []
    for need in queued:
        if need.slurm:
            if slurm > 0:
                slurm -= 1
                given.append((need.run, ()))
        elif need.gpus <= len(gpus) and need.cpu <= slots:
            taken, gpus = tuple(gpus[:need.gpus]), gpus[need.gpus:]
            slots -= need.cpu
            given.append((need.run, taken))
    return given


def need_of(run: QueuedRun) -> Need:
    if run.request.slurm is not None:
        return Need(run.name, slurm=True)
    if run.gpus:
        return Need(run.name, gpus=run.gpus)
    return Need(run.name, cpu=run.request.cpu_processes)


# ---- what live runs hold ----

@dataclass(frozen=True)
class Held:
    """The devices one live run holds."""

    gpus: frozenset[int] = frozenset()
    cpu: int = 0
    slurm: bool = False


def held_by(record: dict[str, Any]) -> Held:
    """From a launch's `run.json`: its `gpus` label (`0,2`, `cpu`, `cpu×4`) or its Slurm job."""
    if record.get("backend") == SLURM:
        return Held(slurm=True)
    label = record.get("gpus")
    if isinstance(label, list):
        label = ",".join(str(g) for g in label)
    label = str(label or "cpu")
    if label.startswith("cpu"):
        count = label.removeprefix("cpu").removeprefix("×")
        return Held(cpu=int(count) if count.isdigit() else 1)
    return Held(gpus=frozenset(int(g) for g in label.split(",") if g.strip().isdigit()))


@dataclass(frozen=True)
class Limits:
    cpu_slots: int | None = None
    """CPU processes the queue's runs may use at once; None: the machine's cores."""
    gpu_mem_mib: int | None = None
    """A GPU with more memory used than this is busy; None: only a compute process makes it busy."""
    slurm_jobs: int = 4
    """The queue's Slurm runs submitted at once."""


def load_limits(save_dir: Path) -> Limits:
    """`.queue/limits.json`; the defaults for what is missing or wrongly typed."""
    record = read_json(queue_dir(save_dir) / LIMITS_FILE) or {}
    defaults = Limits()
    values = {}
    for key, default in asdict(defaults).items():
        value = record.get(key, default)
        ok = value is None and key != "slurm_jobs" or (isinstance(value, int) and not isinstance(value, bool)
                                                       and value >= 0)
        values[key] = value if ok else default
    return Limits(**values)


def save_limits(save_dir: Path, limits: Limits) -> None:
    queue_dir(save_dir).mkdir(parents=True, exist_ok=True)
    write_atomic(queue_dir(save_dir) / LIMITS_FILE, json.dumps(asdict(limits), indent=2))


def free_devices(gpus: Iterable[GpuReading], held: Iterable[Held], limits: Limits,
                 cpu_count: int) -> FreeDevices:
    """What is free, from NVML's readings and what the live runs hold."""
    held = list(held)
    busy = set().union(*(h.gpus for h in held))
    for g in gpus:
        over = limits.gpu_mem_mib is not None and g.mem_used > limits.gpu_mem_mib * MIB
        if g.processes or over:
            busy.add(g.index)
    free = tuple(sorted(g.index for g in gpus if g.index not in busy))
    total = cpu_count if limits.cpu_slots is None else limits.cpu_slots
    return FreeDevices(free, max(0, total - sum(h.cpu for h in held)),
                       max(0, limits.slurm_jobs - sum(h.slurm for h in held)))


class DeviceMeter:
    """Measures what is free, cheaply enough to ask every second: the live runs are followed from the
    `run.json` records a `QueueScan` has read (only the changed ones are looked at again), each
    checked with one `/proc` read a tick; NVML is read only when a queued run wants a GPU; Slurm is
    asked at most every `JOB_STATES_AGE_S`, and only while the queue's Slurm runs are in flight."""

    def __init__(self, save_dir: Path, sampler: GpuSampler | None = None, host: str | None = None) -> None:
        self.save_dir = Path(save_dir)
        self.host = host or socket.gethostname()
        self._sampler = sampler
        self._live: dict[str, dict[str, Any]] = {}
        self._jobs = JobStates(JOB_STATES_AGE_S)
        self.limits = Limits()
        self._limits_mtime: float | None = None

    def update(self, scan: QueueScan, changed: Iterable[str]) -> None:
        """Follow the runs whose `run.json` changed: a launch that may hold devices, or no more."""
        for name in changed:
            record = scan.records.get(name)
            if record is not None and self._may_hold(record):
                self._live[name] = record
            else:
                self._live.pop(name, None)

    def launched(self, name: str, record: dict[str, Any] | None) -> None:
        """The runner has just launched `name`: it holds its devices from now on."""
        if record is not None:
            self._live[name] = record

    def free(self, want_gpus: bool) -> FreeDevices:
        self._read_limits()
        held = [held_by(record) for name, record in list(self._live.items()) if self._alive(name, record)]
        gpus = self._sample() if want_gpus else ()
        return free_devices(gpus, held, self.limits, os.cpu_count() or 1)

    def close(self) -> None:
        if self._sampler is not None:
            self._sampler.close()

    def _may_hold(self, record: dict[str, Any]) -> bool:
        if record.get("launched_at") is None:
            return False
        if job_of(record) is not None:
            return "queued" in record  # the queue counts only its own Slurm runs
        return record.get("host", self.host) == self.host

    def _alive(self, name: str, record: dict[str, Any]) -> bool:
        """Whether the run still holds its devices; a run found gone is not followed again until its
        `run.json` changes (a relaunch)."""
        alive = self._check(name, record)
        if not alive:
            self._live.pop(name, None)
        return alive

    def _check(self, name: str, record: dict[str, Any]) -> bool:
        job = job_of(record)
        if job is not None:
            state = self._jobs.state(job.job_id)
            return state is None or job_active(state)  # Slurm cannot be asked: count it
        if process_alive(record.get("pid"), record.get("create_time"), boot_time=record.get("boot_time")):
            return True
        if record.get("pid") is not None:
            return False
        # launched, its pid never recorded (its launcher was killed between two writes): the child
        # may run all the same, found by its `start` event, or before that by its command line
        start = first_start(self.save_dir / name)
        if start:
            return process_alive(start.get("pid"), start.get("create_time"), boot_time=start.get("boot_time"))
        return launch_pending(record) or bool(trainers_of(self.save_dir / name))

    def _sample(self) -> tuple[GpuReading, ...]:
        if self._sampler is None:
            self._sampler = GpuSampler()
        return self._sampler.sample().gpus

    def _read_limits(self) -> None:
        path = queue_dir(self.save_dir) / LIMITS_FILE
        try:
            mtime: float | None = path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._limits_mtime:
            self._limits_mtime, self.limits = mtime, load_limits(self.save_dir)
