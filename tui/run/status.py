"""Every status a run can show, decided in one place from its files, its processes and Slurm's answer.

`run_status` is the only function that names a run's status: the runs table, the run view and every
action that asks "is it running?" call it. The status sets below say what each status allows. The
event log decides once a run has written to it; before that, the launcher's `run.json` (a reserved
directory) and the launcher's child process or the Slurm job decide; a run waiting in the queue
(`tui.queue`: a reserved directory whose `run.json` holds a `queued` block and no launch yet) is
`queued` until its runner launches it. A sweep's trial that the sweep stopped because it was not
worth finishing (`tui.queue.sweeps`: `run.json` holds `pruned_at`, written before its SIGINT) and
that then ended `stopped` is `pruned`. Torch- and Textual-free.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

from torchx.reading import reason
from torchx.summary import RunSummary
from tui.run.processes import process_alive

NOT_A_RUN = "not a run"
DAMAGED = "damaged"
EMPTY = "empty"
IN_QUEUE = "queued"
"""Waiting in this save dir's queue for its devices (`tui.queue`); no process, no job yet."""
PRUNED = "pruned"
"""Stopped by its sweep (`tui.queue.sweeps`): an epoch's objective said it would not be worth finishing.
Settled and deletable, not resumable: the sweep has told Optuna it was pruned, and a resume would make the
run and the sweep's ranking disagree (to train that point further, fork it into a run of its own)."""
PRUNED_AT = "pruned_at"
"""`run.json`'s mark of a pruned trial: when its sweep decided to stop it (before the SIGINT)."""
STATUSES = ("queued", "starting", "running", "finished", "failed", "stopped", PRUNED, "lost", "pending",
            "cancelled", EMPTY, NOT_A_RUN, DAMAGED)
# After these nothing changes until a relaunch rewrites run.json (or a new `start` arrives).
SETTLED = frozenset({"finished", "failed", "stopped", PRUNED, "lost", "cancelled"})
ACTIVE = frozenset({"starting", "running", "pending"})
RESUMABLE = frozenset({"stopped", "failed", "lost", "cancelled"})
DELETABLE = SETTLED | {IN_QUEUE}
"""What a delete may move to the trash: nothing runs there, and a queued run leaves the queue with it
(`tui.queue.store.remove` takes it out under the queue's lock, so its runner cannot launch it meanwhile)."""

# Slurm's job states by what they mean for a run; any other state counts as ended.
QUEUED = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
                    "SPECIAL_EXIT"})
RUNNING = frozenset({"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "RESIZING", "SUSPENDED",
                     "STOPPED"})
SLURM = "slurm"
"""`run.json`'s `backend` of a run Slurm runs."""
GONE = "GONE"
"""The state of a job Slurm no longer remembers (MinJobAge passed; there is no accounting database)."""
RELAUNCH_SLACK_S = 1.0
"""A `start` this long before the launch it answers still counts: clocks of two processes differ."""
PID_WAIT_S = 30.0
"""A local launcher writes its launch to `run.json` before it spawns the child, and the child's pid right
after: a launch without a pid is `starting` this long (a launcher killed in between), then the events or
`lost` decide."""


def job_active(state: str | None) -> bool:
    """Whether a Slurm job in `state` is queued or running."""
    return state in QUEUED or state in RUNNING


def run_status(summary: RunSummary, run_json: dict[str, Any] | None, host: str | None = None,
               job_state: str | None = None, bad_lines: int = 0, damaged: bool = False,
               startup_error: Callable[[], str] | None = None) -> str:
    """The run's status from its folded events (`summary`), its launcher record (`run.json`, None for a
    run started from the command line), this machine's name (default: this one), Slurm's state of its
    job (None when it is not a Slurm run or Slurm cannot be asked), its log's unreadable lines, and
    whether one of the files that tell its story (the directory, `events.jsonl`, `run.json`) exists but
    cannot be read (`damaged`: what can be read would tell a wrong story). A log with unreadable lines
    and no readable `start` is damaged too, launched or not: a trainer writes its `start` first. A
    launch whose child is gone before its `start` `failed` when `startup_error()` names why (the
    entry said so), else it is `lost` (killed before it could say anything). A run waiting in the queue
    (`queued_block`) is `queued`, or `failed` when its runner could not launch it."""
    if damaged or (summary.starts == 0 and bad_lines):
        return DAMAGED
    if summary.starts == 0 and run_json is None:
        return NOT_A_RUN
    queued = queued_block(run_json) if summary.starts == 0 else None
    if queued is not None:
        return "failed" if queued.get("error") else IN_QUEUE  # the runner could not launch it
    if job_state is not None and run_json is not None:
        return _slurm_status(summary, run_json, job_state)
    return _local_status(summary, run_json, host or socket.gethostname(), startup_error)


def queued_block(run_json: dict[str, Any] | None) -> dict[str, Any] | None:
    """`run.json`'s `queued` block while the run waits in the queue: not launched yet (no `launched_at`,
    no `launches`). Its fields (`tui.queue.store`): `position`, `queued_at`, `request`, and `error` when
    the runner could not launch it (the run is then `failed`)."""
    if not run_json or run_json.get("launched_at") is not None or run_json.get("launches"):
        return None
    block = run_json.get("queued")
    return block if isinstance(block, dict) else None


def launch_pending(run_json: dict[str, Any] | None, now: float | None = None) -> bool:
    """Whether a local launch is recorded without its child's pid, and recently (`PID_WAIT_S`): its
    launcher may have been killed between the two writes, with the child on its way."""
    record = run_json or {}
    at = record.get("launched_at")
    if record.get("pid") is not None or record.get("job_id") or not isinstance(at, (int, float)):
        return False
    return (time.time() if now is None else now) - at < PID_WAIT_S


def story_damage(run_dir: str | os.PathLike[str], summary: RunSummary, run_json: dict[str, Any] | None,
                 log_problem: str, run_json_problem: str) -> str:
    """Why a file that tells the run's story exists but cannot be read, for `run_status(damaged=...)`:
    the directory itself when nothing could be read from it, else the event log's `problem`, else
    `run.json`'s; empty when there is none."""
    if summary.starts == 0 and run_json is None and not run_json_problem:
        try:
            with os.scandir(run_dir):
                pass
        except OSError as exc:
            return f"cannot read the directory: {reason(exc)}"
    return log_problem or run_json_problem


def _started_since_launch(summary: RunSummary, run_json: dict[str, Any] | None) -> bool:
    """Whether the log's last `start` answers the latest launch (a resume relaunches into the same dir)."""
    if summary.start_time is None:
        return False
    launched_at = (run_json or {}).get("launched_at")
    return not (isinstance(launched_at, (int, float)) and launched_at > summary.start_time + RELAUNCH_SLACK_S)


def _local_status(summary: RunSummary, run_json: dict[str, Any] | None, host: str,
                  startup_error: Callable[[], str] | None) -> str:
    """From the events and the process table; a reserved or relaunched run from its launcher's child."""
    if run_json and not _started_since_launch(summary, run_json):
        if run_json.get("backend") == SLURM and run_json.get("job_id") and summary.start_time is None:
            return "pending"  # submitted; Slurm could not be asked
        if run_json.get("host", host) != host:
            return "starting"  # launched on another machine: its process table is not ours to read
        if launch_pending(run_json):
            return "starting"
        if process_alive(run_json.get("pid"), run_json.get("create_time"),
                         boot_time=run_json.get("boot_time")):
            return "starting"
        return "lost" if startup_error is not None and not startup_error() else "failed"
    if summary.end_status:
        return _ended(summary, run_json)
    if summary.start_time is None:
        return EMPTY
    if summary.host and summary.host != host:
        return "running"  # on another machine: cannot check its process table from here
    alive = process_alive(summary.pid, summary.create_time, summary.start_time, summary.boot_time)
    return "running" if alive else "lost"


def _ended(summary: RunSummary, run_json: dict[str, Any] | None) -> str:
    """The status of a run whose last `end` follows its last `start`: the end's, but `pruned` for a
    stop its sweep asked for since that start (a resume that ends stopped again is only `stopped`)."""
    status = summary.end_status or ""
    marked = (run_json or {}).get(PRUNED_AT)
    if status == "stopped" and isinstance(marked, (int, float)) and not isinstance(marked, bool) \
            and marked >= (summary.start_time or 0.0) - RELAUNCH_SLACK_S:
        return PRUNED
    return status


def _slurm_status(summary: RunSummary, run_json: dict[str, Any], state: str) -> str:
    """Slurm's job state while the job is queued or running (the events tell `starting` from
    `running`), the events once it has ended; `cancelled` when it was cancelled before the trainer
    could write its `end`."""
    started = _started_since_launch(summary, run_json)
    if state in QUEUED:
        return "pending"
    if state in RUNNING:
        return "running" if started else "starting"
    if started and summary.end_status:
        return _ended(summary, run_json)
    if state == "CANCELLED":
        return "cancelled"
    return "lost" if state == GONE else "failed"
