"""The Slurm backend: write `slurm.sbatch` into the run directory, submit it, query and signal the job.

torchx schedules nothing itself: Slurm runs the batch script, `srun` starts one task per device, and
Lightning's SLURM environment turns them into DDP ranks of the same `torchx.train_pl` entry. A task
stopped by SIGUSR1 (the time-limit warning) exits 75 on every rank, and the script then requeues the
job, which resumes the run from `last.ckpt`. `srun` runs without --kill-on-bad-exit, so the first rank
to exit 75 does not get the others killed (which would hide the 75); a crashed rank still ends the
others through its broken process group. Torch- and Textual-free.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from torchx.experiment import SLURM_SCRIPT
from torchx.stopping import REQUEUE_EXIT


class SlurmError(Exception):
    """sbatch/scontrol/scancel refused or failed; the message is Slurm's own first line."""


@dataclass
class SlurmSpec:
    """What a user sets for a Slurm launch."""

    nodes: int = 1
    tasks_per_node: int = 1  # one task per GPU (or per CPU DDP process)
    gpus_per_node: int = 0
    cpus_per_task: int | None = None
    partition: str | None = None
    time_limit: str | None = None  # Slurm's format: MM, HH:MM:SS, D-HH:MM
    requeue_warning_s: int = 120  # SIGUSR1 this long before the time limit
    extra: list[str] = field(default_factory=list)  # more "#SBATCH ..." lines, as typed

    def trainer_overrides(self) -> list[str]:
        accelerator = "gpu" if self.gpus_per_node else "cpu"
        overrides = [f"trainer_params.num_nodes={self.nodes}",
                     f"trainer_params.devices={self.tasks_per_node}",
                     f"trainer_params.accelerator={accelerator}"]
        if self.nodes * self.tasks_per_node > 1:
            overrides.append("trainer_params.strategy=ddp")
        return overrides


def sbatch_script(run_dir: Path, entry_args: Sequence[str], spec: SlurmSpec, workdir: Path,
                  python: str = sys.executable) -> str:
    """The batch script text: `srun python -m torchx.train_pl ...` with the Slurm fields as #SBATCH lines."""
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=torchx-{run_dir.name}",
        f"#SBATCH --nodes={spec.nodes}",
        f"#SBATCH --ntasks-per-node={spec.tasks_per_node}",
        f"#SBATCH --output={run_dir.resolve()}/slurm-%j.out",
        "#SBATCH --open-mode=append",
        "#SBATCH --requeue",
    ]
    if spec.gpus_per_node:
        lines.append(f"#SBATCH --gpus-per-node={spec.gpus_per_node}")
    if spec.cpus_per_task:
        lines.append(f"#SBATCH --cpus-per-task={spec.cpus_per_task}")
    if spec.partition:
        lines.append(f"#SBATCH --partition={spec.partition}")
    if spec.time_limit:
        lines += [f"#SBATCH --time={spec.time_limit}", f"#SBATCH --signal=USR1@{spec.requeue_warning_s}"]
    lines += [_sbatch_line(extra) for extra in spec.extra if extra.strip()]
    command = [python, "-m", "torchx.train_pl", *entry_args, *spec.trainer_overrides()]
    lines += [
        "",
        f"cd {shlex.quote(str(workdir.resolve()))}",
        f"srun {shlex.join(command)}",
        "code=$?",
        f'if [ "$code" -eq {REQUEUE_EXIT} ]; then scontrol requeue "$SLURM_JOB_ID"; fi',
        'exit "$code"',
        "",
    ]
    return "\n".join(lines)


def _sbatch_line(text: str) -> str:
    text = text.strip()
    return text if text.startswith("#SBATCH") else f"#SBATCH {text}"


def _run(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"{cmd[0]}: {exc}") from None
    if out.returncode != 0:
        message = (out.stderr.strip() or out.stdout.strip() or f"exit {out.returncode}").splitlines()[0]
        raise SlurmError(f"{cmd[0]}: {message}")
    return out.stdout


def submit(run_dir: Path, script: str) -> str:
    """Write `slurm.sbatch` into the run directory and submit it; return the job id."""
    path = run_dir / SLURM_SCRIPT
    path.write_text(script, encoding="utf-8")
    return _run(["sbatch", "--parsable", str(path)]).strip().split(";")[0]


def job_state(job_id: str) -> str | None:
    """Slurm's state of a job (RUNNING, PENDING, ...), or None once Slurm has forgotten it."""
    try:
        out = _run(["scontrol", "show", "job", "--oneliner", job_id])
    except SlurmError:
        return None
    for token in out.split():
        if token.startswith("JobState="):
            return token.split("=", 1)[1]
    return None


def stop(job_id: str) -> None:
    """SIGINT to every task of the job's steps: the ranks stop after the current step.

    Not `--full`: that signals only the batch step (the shell and `srun`, which does not forward a
    single SIGINT); a job still pending has no tasks and is cancelled outright.
    """
    if job_state(job_id) in ("PENDING", "REQUEUED", "CONFIGURING"):
        _run(["scancel", job_id])
    else:
        _run(["scancel", "--signal=INT", job_id])


def warn_time_limit(job_id: str) -> None:
    """Send the time-limit warning now (SIGUSR1 to the tasks): stop, save, requeue."""
    _run(["scancel", "--signal=USR1", job_id])
