"""A run's Slurm job: which job runs it (`run.json`), what Slurm says of it (one `squeue` per scan for
every row, `JobStates`), where its output goes, and stop and kill (`scancel`). The Slurm counterpart
of `tui.run.processes`; submitting is the launch backend's (`tui.launch.slurm`). Torch- and
Textual-free.
"""

from __future__ import annotations

import math
import subprocess
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from tui.errors import LaunchError
from tui.run.status import GONE, QUEUED, SLURM, job_active

OUTPUT_FILE = "slurm-{}.out"  # every node's stdout and stderr, per job id (`--output`, `%j`)


class SlurmError(LaunchError):
    """sbatch/squeue/scancel refused or failed; the message is Slurm's own first line."""


def slurm_command(cmd: list[str], env: dict[str, str] | None = None) -> str:
    """Run one Slurm command (sbatch, squeue, scancel) and return its output; SlurmError with its first
    line of complaint when it fails. `env`: sbatch hands its environment to the job's tasks."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                             env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"{cmd[0]}: {exc}") from None
    if out.returncode != 0:
        message = (out.stderr.strip() or out.stdout.strip() or f"exit {out.returncode}").splitlines()[0]
        raise SlurmError(f"{cmd[0]}: {message}")
    return out.stdout


class JobStates:
    """Slurm's state of this user's jobs, from one `squeue` call made when first asked and again only
    once the answer is older than `max_age_s`: the runs table asks for all its Slurm runs in one scan
    tick, never once per row."""

    def __init__(self, max_age_s: float = math.inf) -> None:
        self.max_age_s = max_age_s
        self._states: dict[str, str] | None = None
        self._taken_at: float | None = None
        self._gone: set[str] = set()
        self.error = ""
        """Why Slurm could not be asked, when it could not."""

    def state(self, job_id: Any) -> str | None:
        """RUNNING, PENDING, ..., GONE when Slurm no longer knows the job; None when Slurm cannot be asked.
        A job once GONE is not asked about again: Slurm never remembers a job it has forgotten, so a
        view left open on an ended run stops calling `squeue`."""
        if str(job_id) in self._gone:
            return GONE
        if self._taken_at is None or time.monotonic() - self._taken_at > self.max_age_s:
            self._taken_at = time.monotonic()
            try:
                out = slurm_command(["squeue", "--me", "--states=all", "--noheader", "--format=%i %T"])
                self._states = dict(line.split()[:2] for line in out.splitlines() if len(line.split()) >= 2)
                self.error = ""
            except SlurmError as exc:
                self._states, self.error = None, str(exc)
        if self._states is None:
            return None
        state = self._states.get(str(job_id), GONE)
        if state == GONE:
            self._gone.add(str(job_id))
        return state


def job_state(job_id: str) -> str:
    """One job's state now (GONE when Slurm no longer knows it); SlurmError when Slurm cannot be asked."""
    jobs = JobStates()
    state = jobs.state(job_id)
    if state is None:
        raise SlurmError(jobs.error)
    return state


@dataclass(frozen=True)
class SlurmJob:
    """What stop and kill act on for a Slurm run."""

    job_id: str
    stop_note: ClassVar[str] = "scancel --signal=INT sent"
    kill_note: ClassVar[str] = "scancel: SIGTERM to every task, SIGKILL after Slurm's KillWait"
    kill_wait_s: ClassVar[float] = 60.0  # Slurm's KillWait (30 s by default) passes before SIGKILL

    @property
    def output_file(self) -> str:
        """The job's stdout and stderr, every node's, in the run directory (`--output`)."""
        return OUTPUT_FILE.format(self.job_id)

    def stop(self) -> None:
        """SIGINT to every task of the job's steps: the ranks stop after the current step.

        Not `--full`: that signals only the batch step (the shell and `srun`, which does not forward a
        single SIGINT); a job still pending has no tasks and is cancelled outright.
        """
        if job_state(self.job_id) in QUEUED:
            slurm_command(["scancel", self.job_id])
        else:
            slurm_command(["scancel", "--signal=INT", self.job_id])

    def kill(self) -> None:
        """Cancel the job: Slurm ends every task (SIGTERM, then SIGKILL after its KillWait)."""
        slurm_command(["scancel", self.job_id])

    def warn_time_limit(self) -> None:
        """Send the time-limit warning now (SIGUSR1 to the tasks): stop, save, requeue."""
        slurm_command(["scancel", "--signal=USR1", self.job_id])

    def wait_gone(self, timeout: float, interval: float = 0.5) -> bool:
        """Poll until the job is neither queued nor running; False when `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while job_active(job_state(self.job_id)):
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)
        return True


def job_of(run_json: dict[str, Any] | None) -> SlurmJob | None:
    """The run's Slurm job when `run.json` says Slurm launched it."""
    if run_json and run_json.get("backend") == SLURM and run_json.get("job_id"):
        return SlurmJob(str(run_json["job_id"]))
    return None


def run_job_state(run_json: dict[str, Any] | None, jobs: JobStates) -> str | None:
    """Slurm's state of the run's job (`tui.run.status.run_status` takes it); None for a run Slurm does
    not run, or when Slurm cannot be asked."""
    job = job_of(run_json)
    return None if job is None else jobs.state(job.job_id)


