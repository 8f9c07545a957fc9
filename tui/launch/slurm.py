"""The Slurm backend: write `slurm.sbatch` into the run directory, submit it, follow and signal the job.

torchx schedules nothing itself: Slurm runs the batch script, `srun` starts one task per device, and
Lightning's SLURM environment turns them into DDP ranks of the same `torchx.train_pl` entry. A task
stopped by SIGUSR1 (the time-limit warning) exits 75 on every rank, and the script then requeues the
job, which resumes the run from `last.ckpt`. `srun` runs without --kill-on-bad-exit, so the first rank
to exit 75 does not get the others killed (which would hide the 75); a crashed rank still ends the
others through its broken process group, and `--wait` ends tasks still running a while after the first
one exited (rank 0 refused before the process group forms, e.g. a taken name, would otherwise leave the
others waiting for it until the time limit). Torch- and Textual-free.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torchx.experiment import RUN_JSON, SLURM_SCRIPT, read_json
from torchx.stopping import REQUEUE_EXIT
from tui.errors import LaunchError
from tui.launch.request import (
    LaunchRequest,
    launch_in_new_dir,
    new_token,
    reservation_env,
    with_history,
    write_run_json,
)
from tui.run.jobs import OUTPUT_FILE, job_of, job_state, slurm_command
from tui.run.status import SLURM, job_active

TASK_GRACE_S = 120
"""How long `srun` lets the other tasks run on once one has exited: ranks that end together (a finished
run, a requeue's 75, a crash through the process group) do it within seconds."""
_TIME_RE = re.compile(r"(\d+-)?\d+(:\d+){0,2}")
_PARTITION_RE = re.compile(r"[\w.,-]+")


def available() -> bool:
    """Whether this machine can submit jobs: the launch dialog offers the backend only then."""
    return shutil.which("sbatch") is not None


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

    def label(self) -> str:
        """The table's devices cell: `2×4` (nodes × GPUs), or `cpu×2` (CPU ranks in all)."""
        if self.gpus_per_node:
            return f"{self.nodes}×{self.gpus_per_node}"
        ranks = self.nodes * self.tasks_per_node
        return "cpu" if ranks == 1 else f"cpu×{ranks}"


def spec_from_fields(partition: str, time_limit: str, nodes: str, gpus_per_node: str, tasks_per_node: str,
                     cpus_per_task: str, extra: str) -> SlurmSpec:
    """The launch dialog's Slurm fields as a spec; ValueError names the field that is wrong."""
    gpus = _count("GPUs/node", gpus_per_node, 0, minimum=0)
    tasks = _count("tasks/node", tasks_per_node, gpus or 1)
    if gpus and tasks != gpus:
        raise ValueError(f"tasks/node must equal GPUs/node ({gpus}): one task per GPU, got {tasks}")
    time_limit = time_limit.strip()
    if time_limit and not _TIME_RE.fullmatch(time_limit):
        raise ValueError(f"time {time_limit!r}: expected minutes, HH:MM:SS or D-HH:MM")
    cpus = _count("CPUs/task", cpus_per_task, 0)
    partition = partition.strip()
    if partition and not _PARTITION_RE.fullmatch(partition):
        raise ValueError(f"partition {partition!r}: letters, digits, '_', '-', '.' and ',' only")
    return SlurmSpec(nodes=_count("nodes", nodes, 1), tasks_per_node=tasks, gpus_per_node=gpus,
                     cpus_per_task=cpus or None, partition=partition or None,
                     time_limit=time_limit or None, extra=extra_lines(extra))


def spec_from_record(record: Any) -> SlurmSpec:
    """A spec stored in `run.json`, checked again as the dialog checks typed fields (a tampered file
    must not put raw lines into the batch script); ValueError names what is wrong."""
    if not isinstance(record, dict):
        raise ValueError("expected a mapping")
    extra = record.get("extra") or []
    if not isinstance(extra, list) or not all(isinstance(line, str) for line in extra):
        raise ValueError("extra: expected a list of #SBATCH options")
    warning = record.get("requeue_warning_s", SlurmSpec.requeue_warning_s)
    if not isinstance(warning, int) or isinstance(warning, bool) or warning < 0:
        raise ValueError(f"requeue_warning_s: expected seconds, got {warning!r}")
    text = {key: "" if record.get(key) is None else str(record.get(key)) for key in (
        "partition", "time_limit", "nodes", "gpus_per_node", "tasks_per_node", "cpus_per_task")}
    spec = spec_from_fields(extra=" ".join(extra), **text)
    spec.requeue_warning_s = warning
    return spec


# The Slurm fields as command-line flags (`torchx-tui queue add`, `torchx-tui sweep`), each the dialog's.
FLAGS = {"partition": "--partition", "time_limit": "--time", "nodes": "--nodes",
         "gpus_per_node": "--gpus-per-node", "tasks_per_node": "--tasks-per-node",
         "cpus_per_task": "--cpus-per-task", "extra": "--sbatch"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--slurm` and the Slurm fields, as text: `spec_from_args` checks them as the dialog does."""
    group = parser.add_argument_group("Slurm", "submit with sbatch instead of starting on this machine")
    group.add_argument("--slurm", action="store_true", help="run on Slurm (the fields below need it)")
    helps = {"time_limit": "MM, HH:MM:SS or D-HH:MM", "nodes": "default 1", "gpus_per_node": "default 0",
             "tasks_per_node": "default: GPUs/node, else 1", "extra": "more #SBATCH options, e.g. '--mem=8G'"}
    metavars = {"partition": "NAME", "time_limit": "LIMIT", "extra": "OPTIONS"}
    for key, flag in FLAGS.items():
        group.add_argument(flag, dest=f"slurm_{key}", default="", metavar=metavars.get(key, "N"),
                           help=helps.get(key))


def spec_from_args(args: argparse.Namespace) -> SlurmSpec | None:
    """The spec the flags ask for, None without `--slurm`; ValueError names the flag that is wrong."""
    given = {key: getattr(args, f"slurm_{key}") for key in FLAGS}
    if not args.slurm:
        stray = next((FLAGS[key] for key, value in given.items() if value), None)
        if stray:
            raise ValueError(f"{stray}: a Slurm field, only with --slurm")
        return None
    if not available():
        raise ValueError("--slurm: sbatch is not on the PATH of this machine")
    try:
        return spec_from_fields(**given)
    except ValueError as exc:
        raise ValueError(f"--slurm: {exc}") from None


def _count(name: str, text: str, default: int, minimum: int = 1) -> int:
    text = text.strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}, got {text!r}")
    return int(text)


def extra_lines(text: str) -> list[str]:
    """`--mem=8G --qos high` → one `#SBATCH` line per option (an option's values follow it)."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"#SBATCH options: {exc}") from None
    lines: list[list[str]] = []
    for token in tokens:
        if token.startswith("-"):
            lines.append([token])
        elif lines:
            lines[-1].append(token)
        else:
            raise ValueError(f"#SBATCH options must start with an option (--name=value), got {token!r}")
    return [shlex.join(line) for line in lines]


def sbatch_script(run_dir: Path, entry_args: Sequence[str], spec: SlurmSpec, workdir: Path,
                  python: str = sys.executable) -> str:
    """The batch script text: `srun python -m torchx.train_pl ...` with the Slurm fields as #SBATCH lines."""
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=torchx-{run_dir.name}",
        f"#SBATCH --nodes={spec.nodes}",
        f"#SBATCH --ntasks-per-node={spec.tasks_per_node}",
        f"#SBATCH --output={run_dir.resolve()}/{OUTPUT_FILE.format('%j')}",
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
    lines += [
        "",
        f"cd {shlex.quote(str(workdir.resolve()))}",
        f"srun --wait={TASK_GRACE_S} {shlex.join(entry_command(entry_args, spec, python))}",
        "code=$?",
        f'if [ "$code" -eq {REQUEUE_EXIT} ]; then scontrol requeue "$SLURM_JOB_ID"; fi',
        'exit "$code"',
        "",
    ]
    return "\n".join(lines)


def entry_command(entry_args: Sequence[str], spec: SlurmSpec, python: str = sys.executable) -> list[str]:
    """What every task runs: the Lightning entry with the spec's devices as trainer overrides."""
    return [python, "-m", "torchx.train_pl", *entry_args, *spec.trainer_overrides()]


def _sbatch_line(text: str) -> str:
    text = text.strip()
    return text if text.startswith("#SBATCH") else f"#SBATCH {text}"


def submit(run_dir: Path, script: str, token: str | None = None) -> str:
    """Write `slurm.sbatch` into the run directory and submit it; return the job id. The job's tasks
    inherit the submitting environment (sbatch's default), the reservation's `token` with it."""
    path = run_dir / SLURM_SCRIPT
    try:
        path.write_text(script, encoding="utf-8")
    except OSError as exc:
        raise LaunchError(f"{path}: cannot write the batch script ({exc.strerror or exc})") from None
    out = slurm_command(["sbatch", "--parsable", str(path)], env=reservation_env(token))
    return out.strip().split(";")[0]


# ---- the backend ----

@dataclass
class SlurmLauncher:
    """Submits runs with `sbatch` from `workdir` (where config paths resolve), with `python` on every node."""

    python: str = sys.executable
    workdir: Path = field(default_factory=Path.cwd)
    name: ClassVar[str] = SLURM

    def launch(self, request: LaunchRequest) -> Path:
        """Reserve the directory, submit the job, write `run.json`; raises LaunchError."""
        return launch_in_new_dir(request, lambda run_dir, token: self._submit(
            run_dir, _launch_args(request), request.slurm or SlurmSpec(), None, token=token))

    def relaunch(self, run_dir: Path, request: LaunchRequest) -> None:
        """Submit a run that never started (cancelled or killed before its `start`) again."""
        previous = self._not_active(run_dir)
        spec = request.slurm or SlurmSpec()
        self._submit(run_dir, _launch_args(request), spec, previous, token=new_token())

    def resume(self, run_dir: Path) -> None:
        """Submit the run again with `--resume <name>`, with the Slurm fields it was launched with."""
        previous = self._not_active(run_dir)
        try:
            spec = spec_from_record(previous.get("slurm"))
        except ValueError as exc:
            raise LaunchError(f"{run_dir / RUN_JSON}: its 'slurm' fields are damaged: {exc}") from None
        args = ["--resume", run_dir.name, "--save-dir", str(run_dir.parent.resolve())]
        workdir = Path(previous.get("workdir") or self.workdir)
        self._submit(run_dir, args, spec, previous, workdir if workdir.is_dir() else self.workdir)

    @staticmethod
    def _not_active(run_dir: Path) -> dict[str, Any]:
        """The run's `run.json`; LaunchError while its job is queued or running."""
        previous = read_json(run_dir / RUN_JSON) or {}
        job = job_of(previous)
        if job is not None and job_active(state := job_state(job.job_id)):
            raise LaunchError(f"run '{run_dir.name}' is still {state.lower()} as Slurm job {job.job_id}")
        return previous

    def _submit(self, run_dir: Path, args: list[str], spec: SlurmSpec, previous: dict[str, Any] | None,
                workdir: Path | None = None, token: str | None = None) -> None:
        launched_at, workdir = time.time(), (workdir or self.workdir).resolve()
        job_id = submit(run_dir, sbatch_script(run_dir, args, spec, workdir, self.python), token)
        launch = {"argv": entry_command(args, spec, self.python), "pid": None, "pgid": None,
                  "host": socket.gethostname(), "gpus": spec.label(), "launched_at": launched_at,
                  "create_time": None, "boot_time": None, "backend": self.name, "job_id": job_id,
                  "slurm": asdict(spec), "workdir": str(workdir), "reservation": token}
        write_run_json(run_dir, with_history(launch, previous))


def _launch_args(request: LaunchRequest) -> list[str]:
    """The entry's arguments of a new run (the devices come from the Slurm fields)."""
    return ["--config", str(request.config), "--name", request.name,
            "--save-dir", str(request.save_dir.resolve()), *request.overrides]
