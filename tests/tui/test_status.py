"""Every status a run can show, from one table: the events, `run.json`, the process table and Slurm's
job state in, `tui.run.status.run_status` out. Processes are real: this test's own process is the live
one, a reaped child's pid the dead one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import psutil
import pytest

from torchx.summary import RunSummary
from tui.run.processes import process_alive
from tui.run.status import GONE, STATUSES, run_status
from tui.text import STATUS_STYLES, STATUS_SYMBOLS

HOST, OTHER = "box", "elsewhere"
T = 1_795_000_000.0
ME = psutil.Process(os.getpid())
ALIVE = {"pid": ME.pid, "create_time": ME.create_time(), "boot_time": psutil.boot_time()}
"""As the entry and the launcher record it (read at import: the wall clock may be set before a case runs)."""


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


DEAD = {"pid": _dead_pid(), "create_time": T}


def start(at: float = T, host: str = HOST, proc: dict[str, Any] = ALIVE) -> dict[str, Any]:
    return {"event": "start", "time": at, "host": host, **proc}


def end(status: str, at: float = T + 50) -> dict[str, Any]:
    return {"event": "end", "time": at, "status": status}


def launch(at: float = T - 5, host: str = HOST, proc: dict[str, Any] = ALIVE, **more: Any) -> dict[str, Any]:
    return {"backend": "local", "host": host, "launched_at": at, **proc, **more}


SLURM = {"backend": "slurm", "job_id": "7", "host": HOST, "launched_at": T - 10, "pid": None}
QUEUED = {"queued": {"position": 1, "queued_at": T - 60, "request": {"config": "c.yaml"}}}
PID_UNRECORDED = {"pid": None, "create_time": None}
"""A launch written before its child was spawned, the child's pid not (yet) after."""
JUST_NOW = time.time() + 86_400
"""A launch time that is still recent however long after collection the case runs (a day ahead)."""
SLURM_RESUMED = {**SLURM, "launched_at": T + 100}
STOPPED = (start(), end("stopped"))

CASES: list[tuple[str, tuple[dict[str, Any], ...], dict[str, Any] | None, str | None, int, str]] = [
    # (case, events, run.json, Slurm job state, unreadable lines, status)
    ("foreign directory", (), None, None, 0, "not a run"),
    ("unreadable log, no launcher", (), None, None, 3, "damaged"),
    ("started from the command line, alive", (start(),), None, None, 0, "running"),
    ("started from the command line, dead", (start(proc=DEAD),), None, None, 0, "lost"),
    ("started on another machine", (start(host=OTHER, proc=DEAD),), None, None, 0, "running"),
    ("finished", (start(), end("finished")), None, None, 0, "finished"),
    ("failed", (start(), end("failed")), None, None, 0, "failed"),
    ("stopped", STOPPED, None, None, 0, "stopped"),
    ("a start without its time", ({"event": "start"},), None, None, 0, "empty"),
    ("reserved, launcher's child alive", (), launch(), None, 0, "starting"),
    ("reserved, launcher's child dead", (), launch(proc=DEAD), None, 0, "failed"),
    ("reserved on another machine", (), launch(host=OTHER, proc=DEAD), None, 0, "starting"),
    ("launched, then started", (start(),), launch(proc=DEAD), None, 0, "running"),
    ("resumed, no start since", STOPPED, launch(at=T + 100), None, 0, "starting"),
    ("resume died before its start", STOPPED, launch(at=T + 100, proc=DEAD), None, 0, "failed"),
    ("resumed and started again", (*STOPPED, start(at=T + 101)), launch(at=T + 100), None, 0, "running"),
    ("start within the clock slack", (start(at=T - 5.5),), launch(at=T - 5), None, 0, "running"),
    ("queued", (), QUEUED, None, 0, "queued"),
    ("queued, the runner could not launch it", (), {"queued": {**QUEUED["queued"], "error": "no"}}, None, 0,
     "failed"),
    ("queued, its run.json damaged", (), QUEUED, None, 3, "damaged"),
    ("queued, then launched", (), {**QUEUED, **launch()}, None, 0, "starting"),
    ("queued, launched and started", (start(),), {**QUEUED, **launch(proc=DEAD)}, None, 0, "running"),
    ("queued block, then a start: the events", (start(), end("finished")), QUEUED, None, 0, "finished"),
    ("launched, its pid not recorded yet", (), launch(at=JUST_NOW, proc=PID_UNRECORDED), None, 0,
     "starting"),
    ("launched long ago, its pid never recorded", (), launch(proc=PID_UNRECORDED), None, 0, "failed"),
    ("pid never recorded, then started", (start(),), launch(proc=PID_UNRECORDED), None, 0, "running"),
    ("pruned by its sweep", STOPPED, launch(proc=DEAD, pruned_at=T + 40), None, 0, "pruned"),
    ("pruned, but it finished first", (start(), end("finished")), launch(pruned_at=T + 40), None, 0,
     "finished"),
    ("pruned, being stopped", (start(),), launch(pruned_at=T + 40), None, 0, "running"),
    ("pruned, then resumed and stopped by hand", (*STOPPED, start(at=T + 101), end("stopped", at=T + 150)),
     launch(at=T + 100, proc=DEAD, pruned_at=T + 40), None, 0, "stopped"),
    ("pruned, its run.json's mark not a time", STOPPED, launch(proc=DEAD, pruned_at=True), None, 0,
     "stopped"),
    ("Slurm: pruned by its sweep", STOPPED, {**SLURM, "pruned_at": T + 40}, "COMPLETED", 0, "pruned"),
    ("Slurm: queued", (), SLURM, "PENDING", 0, "pending"),
    ("Slurm: running, no start yet", (), SLURM, "RUNNING", 0, "starting"),
    ("Slurm: running", (start(host="node1", proc=DEAD),), SLURM, "RUNNING", 0, "running"),
    ("Slurm: completing", (start(proc=DEAD),), SLURM, "COMPLETING", 0, "running"),
    ("Slurm: stopped to be requeued", STOPPED, SLURM, "RUNNING", 0, "running"),
    ("Slurm: requeued", STOPPED, SLURM, "REQUEUED", 0, "pending"),
    ("Slurm: ended, the events decide", STOPPED, SLURM, "COMPLETED", 0, "stopped"),
    ("Slurm: cancelled after its end", STOPPED, SLURM, "CANCELLED", 0, "stopped"),
    ("Slurm: cancelled while training", (start(proc=DEAD),), SLURM, "CANCELLED", 0, "cancelled"),
    ("Slurm: cancelled in the queue", (), SLURM, "CANCELLED", 0, "cancelled"),
    ("Slurm: failed", (start(proc=DEAD),), SLURM, "FAILED", 0, "failed"),
    ("Slurm: time limit", (start(proc=DEAD),), SLURM, "TIMEOUT", 0, "failed"),
    ("Slurm: forgotten without an end", (start(proc=DEAD),), SLURM, GONE, 0, "lost"),
    ("Slurm: resume queued", STOPPED, SLURM_RESUMED, "PENDING", 0, "pending"),
    ("Slurm: resume running, no start", STOPPED, SLURM_RESUMED, "RUNNING", 0, "starting"),
    ("Slurm: resume cancelled in the queue", STOPPED, SLURM_RESUMED, "CANCELLED", 0, "cancelled"),
    ("Slurm cannot be asked, nothing started", (), SLURM, None, 0, "pending"),
    ("Slurm cannot be asked, the events decide", STOPPED, SLURM, None, 0, "stopped"),
]


@pytest.mark.parametrize(("events", "run_json", "job_state", "bad_lines", "status"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_every_status(events: tuple[dict[str, Any], ...], run_json: dict[str, Any] | None,
                      job_state: str | None, bad_lines: int, status: str) -> None:
    summary = RunSummary()
    summary.update(list(events))
    assert run_status(summary, run_json, HOST, job_state, bad_lines) == status


def test_the_table_covers_every_status() -> None:
    assert {case[-1] for case in CASES} == set(STATUSES)


def test_every_status_has_its_symbol_and_style() -> None:
    """The table reads without colour (a symbol each) and every view colours a status alike."""
    assert set(STATUS_SYMBOLS) == set(STATUS_STYLES) == set(STATUSES)
    assert len(set(STATUS_SYMBOLS.values())) == len(STATUSES)


@pytest.mark.parametrize(("said", "status"), [("config.yaml: bad key", "failed"), ("", "lost")])
def test_a_launch_gone_before_its_start_failed_only_if_it_said_why(said: str, status: str) -> None:
    """Its child's last words in stdout.log decide: an entry that refused says so; a kill says nothing."""
    assert run_status(RunSummary(), launch(proc=DEAD), HOST, startup_error=lambda: said) == status
    assert run_status(RunSummary(), launch(proc=DEAD), HOST) == "failed"  # nobody asked the log


def test_a_wall_clock_set_since_the_record_leaves_a_live_process_alive() -> None:
    """psutil's create time moves with the wall clock (it adds the boot time read now); recorded with
    the boot time of then, a live process stays itself and a reused pid does not pass for it."""
    me, booted = ME.create_time(), psutil.boot_time()
    for shift in (-30.0, -3.0, 3.0, 3600.0):  # the clock was set forward or back by `shift` since
        assert process_alive(ME.pid, me - shift, boot_time=booted - shift)
    assert not process_alive(ME.pid, me - 3.0)  # without the boot time of then, it cannot tell
    assert not process_alive(ME.pid, me - 3.0, boot_time=booted)  # started 3 s apart: another process
    assert not process_alive(DEAD["pid"], DEAD["create_time"], boot_time=booted)
