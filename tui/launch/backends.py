"""The launch backends behind one interface: `local` (a detached process, `tui.launch.local`) and `slurm`
(`sbatch`, `tui.launch.slurm`). `run.json` names the backend of each run, so stop, kill, resume and status
follow the run, whichever backend the dialog offers today. Torch- and Textual-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from torchx.experiment import CKPT_DIR, CONFIG_FILE, LAST_CKPT, RUN_JSON, is_reserved_only, read_json
from tui.errors import LaunchError
from tui.launch import slurm
from tui.launch.fork import first_launch_request
from tui.launch.request import LaunchRequest
from tui.run import jobs
from tui.run.processes import LocalRun, run_pid, trainers_of
from tui.run.status import job_active

if TYPE_CHECKING:
    from tui.settings import Settings


class Backend(Protocol):
    name: ClassVar[str]

    def launch(self, request: LaunchRequest) -> Path:
        """Reserve `save_dir/name`, start the run, write `run.json`; LaunchError with the reason."""
        ...

    def resume(self, run_dir: Path) -> None:
        """Start a settled run again with `--resume`, in the same directory."""
        ...

    def relaunch(self, run_dir: Path, request: LaunchRequest) -> None:
        """Start a run that never started again, in its own directory, with a new reservation."""
        ...


class RunHandle(Protocol):
    """What stop and kill act on: a local process group (`LocalRun`) or a Slurm job (`SlurmJob`)."""

    stop_note: ClassVar[str]
    kill_note: ClassVar[str]
    kill_wait_s: ClassVar[float]

    def stop(self) -> None: ...

    def kill(self) -> None: ...

    def wait_gone(self, timeout: float) -> bool: ...


def launch(settings: Settings, request: LaunchRequest) -> Path:
    backend: Backend = (settings.slurm or slurm.SlurmLauncher()) if request.slurm else settings.launcher
    return backend.launch(request)


def resume(settings: Settings, run_dir: Path) -> None:
    """Resume with the backend that launched the run: from `last.ckpt`, or, for a run that never
    started (killed before its `start`), launched again from its `run.json`. LaunchError says why
    neither can work (`resume_problem`)."""
    problem = resume_problem(run_dir)
    if problem:
        raise LaunchError(problem)
    backend: Backend = settings.launcher
    if jobs.job_of(read_json(run_dir / RUN_JSON)) is not None:
        backend = settings.slurm or slurm.SlurmLauncher()
    if is_reserved_only(run_dir):
        backend.relaunch(run_dir, first_launch_request(run_dir))
    else:
        backend.resume(run_dir)


def resume_problem(run_dir: Path) -> str | None:
    """Why `r` cannot work on this run, or None: a resume needs its `config.yaml` and `last.ckpt`; a
    run that never started needs the launch recorded in its `run.json`."""
    if is_reserved_only(run_dir):
        return None if (run_dir / RUN_JSON).is_file() else f"{run_dir / RUN_JSON} is missing"
    if not (run_dir / CONFIG_FILE).is_file():
        return f"{run_dir / CONFIG_FILE} is missing"
    if not (run_dir / CKPT_DIR / LAST_CKPT).is_file():
        return "it has no last.ckpt (it ended before its first checkpoint): fork it (f) to start again"
    return None


def handle(run_dir: Path, pid: Any = None, create_time: Any = None,
           boot_time: Any = None) -> RunHandle | None:
    """The run's Slurm job, or its live local processes (`pid`/`create_time`/`boot_time`: the trainer's,
    from its `start` event); None when it has no live process."""
    job = jobs.job_of(read_json(run_dir / RUN_JSON))
    if job is not None:
        return job
    root = run_pid(run_dir, pid, create_time, boot_time)
    return LocalRun(*root) if root else None


def kill_note(run_json: dict[str, Any] | None) -> str:
    """What a kill does to the run `run_json` describes, for the confirmation question."""
    job = jobs.job_of(run_json)
    return (job or LocalRun).kill_note


def busy(handle: RunHandle | None, run_dir: Path | None = None) -> str | None:
    """What still runs for a run, for a refusal to delete it: its live processes, its queued or running
    Slurm job, or (with `run_dir`) an entry started for it from a command line; None when nothing does."""
    if isinstance(handle, jobs.SlurmJob):
        if job_active(jobs.job_state(handle.job_id)):
            return f"Slurm job {handle.job_id}"
    elif isinstance(handle, LocalRun):
        return f"pid {handle.pid}"
    started = trainers_of(run_dir) if run_dir is not None else []
    return f"pid {started[0]}, started from a command line" if started else None
