"""Everything the run view follows for one run, polled from its worker: events, logs, processes.

`RunWatch.poll(now)` returns a `RunSnapshot` (immutable: safe to hand to the UI thread) when the
events or the status changed, plus the log lines completed since the last poll. Processes are
sampled by `procs()` at the slower process rate. A directory that cannot be read gives a `damaged`
snapshot whose `problem` says why, and so does any exception a poll meets: the view shows it, and
its worker (and the app) carry on. Torch- and Textual-free.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torchx.events import EVENTS_FILE
from torchx.experiment import LOG_FILE, RUN_JSON, STDOUT_FILE
from tui.live.data import MetricRow, Progress, RunData
from tui.live.loader import RunLoader
from tui.live.logtail import LogTail
from tui.run.files import (
    EXCEPTION_NAME,
    Checkpoint,
    checkpoints,
    config_name,
    monitor_from_config,
    mtime_ns,
    read_config,
    read_run_json,
    reproduce,
    startup_error,
)
from tui.run.jobs import JobStates, job_of, run_job_state
from tui.run.processes import ProcRow, ProcSampler
from tui.run.status import DAMAGED, run_status, story_damage
from tui.text import gpus_text, reproduce_text

LOG_SOURCES = (LOG_FILE, STDOUT_FILE)


@dataclass(frozen=True)
class RunSnapshot:
    name: str
    status: str
    config: str
    host: str
    gpus: str
    progress: Progress
    error: dict[str, Any] | None
    metrics: tuple[MetricRow, ...]
    series: dict[str, tuple[list[float], list[float]]]
    steps_per_epoch: int | None
    checkpoints: tuple[Checkpoint, ...]
    bad_lines: int
    loading: bool
    pid: int | None = None
    create_time: float | None = None
    boot_time: float | None = None
    argv: tuple[str, ...] | None = None
    entry: str | None = None
    reproduce: str = ""
    config_text: str = ""
    problem: str = ""
    """Why the run is `damaged`, else its log's first bad line (`RunRow.problem`)."""


@dataclass
class RunWatch:
    run_dir: Path
    host: str = field(default_factory=socket.gethostname)

    def __post_init__(self) -> None:
        self.loader = RunLoader(self.run_dir / EVENTS_FILE)
        self.logs = {name: LogTail(self.run_dir / name) for name in LOG_SOURCES}
        self.proc_sampler = ProcSampler()
        self.config_text = ""
        self._run_json: dict[str, Any] | None = None
        self._run_json_problem = ""
        self._run_json_mtime: int | None = None
        self._failure = ""
        self._ckpt_mtime: int | None = None
        self._ckpts: tuple[Checkpoint, ...] = ()
        self._last: tuple[int, str, int, str] | None = None
        self._ckpt_events = -1
        self._card_key: tuple[float | None, bool] | None = None
        self._card = ""
        self._opened = False
        self._jobs = JobStates(max_age_s=1.0)  # a Slurm run's job state: one `squeue` a second at most

    @property
    def data(self) -> RunData:
        return self.loader.data

    def open(self) -> None:
        self.config_text = read_config(self.run_dir)
        monitor, mode = monitor_from_config(self.config_text)
        self.loader.data.monitor, self.loader.data.monitor_mode = monitor, mode
        self.loader.open()
        self._opened = True

    def poll(self, now: float, force: bool = False,
             snapshot: bool = True) -> tuple[RunSnapshot | None, dict[str, list[str]]]:
        """Fold what is new; a snapshot only when something changed (or `force`), and only when
        `snapshot` (the caller's rate limit: a change not snapshotted now is reported next time).
        Never raises: an exception becomes a `damaged` snapshot naming it, and the watch stops there
        (what it had folded may be half a story; opening the view again starts afresh)."""
        if not self._failure:
            try:
                return self._poll(now, force, snapshot)
            except Exception as exc:  # a reader's bug met by this directory: shown, never the app's exit
                self._failure, force = f"cannot read: {exc.__class__.__name__}: {exc}"[:200], True
        return (failed_snapshot(self.run_dir.name, self._failure) if force else None), {}

    def _poll(self, now: float, force: bool,
              snapshot: bool) -> tuple[RunSnapshot | None, dict[str, list[str]]]:
        if not self._opened:
            self.open()
        self.loader.poll()
        if not self.config_text:
            self.config_text = read_config(self.run_dir)
        logs = {name: tail.poll() for name, tail in self.logs.items()}
        status = self._status()
        ckpts = self._checkpoints()
        key = (self.data.version, status, len(ckpts), self._problem())
        if not force and (key == self._last or not snapshot):
            return None, logs
        self._last = key
        return self.snapshot(status, now), logs

    def procs(self, gpu_mem: dict[int, int] | None = None) -> list[ProcRow]:
        s = self.data.summary
        try:
            return self.proc_sampler.sample(self.run_dir, s.pid, s.create_time, s.boot_time, gpu_mem)
        except Exception:  # the process table is a detail: a sampling error leaves it empty
            return []

    def snapshot(self, status: str, now: float) -> RunSnapshot:
        data, s = self.data, self.data.summary
        series = {label: ser.points() for label, ser in data.series.items()}
        return RunSnapshot(
            name=self.run_dir.name, status=status, config=config_name(s.config, self._run_json),
            host=s.host or (self._run_json or {}).get("host") or "",
            gpus=gpus_text(self._run_json, s.devices),
            progress=data.progress(status, now), error=self._error(status),
            metrics=tuple(data.metric_rows()), series=series, steps_per_epoch=s.steps_per_epoch,
            checkpoints=self._ckpts, bad_lines=self.loader.bad_lines,
            loading=self.loader.backfilling, pid=s.pid, create_time=s.create_time,
            boot_time=s.boot_time,
            argv=tuple(data.argv) if data.argv else None, entry=data.entry,
            reproduce=self._reproduce(),
            config_text=self.config_text,
            problem=self._problem(),
        )

    def _damage(self) -> str:
        return story_damage(self.run_dir, self.data.summary, self._run_json, self.loader.reader.problem,
                            self._run_json_problem)

    def _problem(self) -> str:
        return self._damage() or self.loader.problem

    def _error(self, status: str) -> dict[str, Any] | None:
        """The `end` event's error; for a launch that failed before its `start`, what its child said
        (`startup_error`), so the header tells why where the user looks."""
        s = self.data.summary
        if isinstance(s.error, dict):
            return s.error
        if status != "failed" or s.starts:
            return None
        said = startup_error(self.run_dir, self._run_json)
        kind, sep, message = said.partition(": ")
        if sep and EXCEPTION_NAME.fullmatch(kind):
            return {"type": kind, "message": message}
        return {"type": "error", "message": said} if said else None

    def _reproduce(self) -> str:
        key = (self._run_json_mtime, self.data.argv is not None)
        if key != self._card_key:
            self._card_key = key
            self._card = reproduce_text(reproduce(self.run_dir, self.data.argv, self.data.entry))
        return self._card

    def _status(self) -> str:
        mtime = mtime_ns(self.run_dir / RUN_JSON)
        if mtime != self._run_json_mtime:
            self._run_json_mtime = mtime
            self._run_json, self._run_json_problem = read_run_json(self.run_dir / RUN_JSON) \
                if mtime is not None else (None, "")
            self._follow_job_output()
        s = self.data.summary
        return run_status(s, self._run_json, self.host, run_job_state(self._run_json, self._jobs),
                          self.loader.bad_lines, damaged=bool(self._damage()),
                          startup_error=lambda: startup_error(self.run_dir, self._run_json))

    def _follow_job_output(self) -> None:
        """A Slurm run's output is its job's `slurm-<id>.out`: the stdout source shows that instead."""
        job = job_of(self._run_json)
        path = self.run_dir / job.output_file if job else None
        if path is not None and self.logs[STDOUT_FILE].path != path:
            self.logs[STDOUT_FILE] = LogTail(path)

    def _checkpoints(self) -> tuple[Checkpoint, ...]:
        mtime = mtime_ns(self.run_dir / "ckpt")
        if mtime != self._ckpt_mtime or len(self.data.ckpts) != self._ckpt_events:
            self._ckpt_mtime, self._ckpt_events = mtime, len(self.data.ckpts)
            self._ckpts = tuple(checkpoints(self.run_dir, self.data.ckpts))
        return self._ckpts


def failed_snapshot(name: str, problem: str) -> RunSnapshot:
    """A `damaged` run whose only fact is why it cannot be shown."""
    nothing = Progress(None, None, None, None, None, None, None, None, None)
    return RunSnapshot(name=name, status=DAMAGED, config="", host="", gpus="", progress=nothing, error=None,
                       metrics=(), series={}, steps_per_epoch=None, checkpoints=(), bad_lines=0,
                       loading=False, problem=problem)
