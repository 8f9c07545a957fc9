"""Real jobs on the local Slurm cluster: 2-task CPU DDP through srun, stop, resume, time-limit requeue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DIGITS, REPO, wait_for
from torchx.events import read_events
from torchx.experiment import reserve_run_dir
from tui import slurm

pytestmark = pytest.mark.usefixtures("slurm_cluster")
DDP2 = slurm.SlurmSpec(nodes=1, tasks_per_node=2)


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    events, bad = read_events(run_dir / "events.jsonl")
    assert not bad
    return events


def of_kind(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in events_of(run_dir) if e["event"] == kind]


def submit(save_dir: Path, name: str, *args: str, spec: slurm.SlurmSpec = DDP2) -> tuple[Path, str]:
    run_dir = save_dir / name if (save_dir / name).exists() else reserve_run_dir(save_dir, name)
    entry_args = [*args, "--name", name, "--save-dir", str(save_dir)] if "--resume" not in args else [
        *args, "--save-dir", str(save_dir)]
    script = slurm.sbatch_script(run_dir, entry_args, spec, workdir=REPO, python=sys.executable)
    return run_dir, slurm.submit(run_dir, script)


def in_queue(job_id: str) -> bool:
    out = subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True, text=True, timeout=30)
    return bool(out.stdout.strip())


def wait_job_done(job_id: str, timeout: float = 240) -> None:
    wait_for(lambda: slurm.job_state(job_id) in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", None),
             timeout=timeout, what=f"job {job_id} to end")


def test_two_task_ddp_job_runs_to_finished(save_dir: Path) -> None:
    run_dir, job = submit(save_dir, "ddp", "--config", DIGITS, "trainer_params.max_epochs=2")
    assert (run_dir / "slurm.sbatch").read_text().count("srun ") == 1
    wait_job_done(job)
    assert slurm.job_state(job) == "COMPLETED", (run_dir / f"slurm-{job}.out").read_text()[-3000:]
    starts, ends = of_kind(run_dir, "start"), of_kind(run_dir, "end")
    assert len(starts) == 1 and len(ends) == 1 and ends[0]["status"] == "finished"
    assert starts[0]["world_size"] == 2
    assert (run_dir / f"slurm-{job}.out").exists()


def test_stop_then_resume_a_slurm_run(save_dir: Path) -> None:
    run_dir, job = submit(save_dir, "stop", "--config", DIGITS, "trainer_params.max_epochs=400")
    wait_for(lambda: (run_dir / "ckpt" / "last.ckpt").exists() and of_kind(run_dir, "step"),
             timeout=180, what="training with a checkpoint")
    slurm.stop(job)
    wait_job_done(job)
    assert of_kind(run_dir, "end")[-1]["status"] == "stopped"
    assert (run_dir / "ckpt" / "last.ckpt").exists() and not in_queue(job)
    stopped_at = of_kind(run_dir, "epoch")[-1]["epoch"]
    _, job2 = submit(save_dir, "stop", "--resume", "stop", f"trainer_params.max_epochs={stopped_at + 3}")
    wait_job_done(job2)
    starts = of_kind(run_dir, "start")
    assert len(starts) == 2 and starts[1]["global_step"] > 0
    assert of_kind(run_dir, "end")[-1]["status"] == "finished"


def test_time_limit_warning_saves_requeues_and_finishes(save_dir: Path) -> None:
    spec = slurm.SlurmSpec(nodes=1, tasks_per_node=2, time_limit="30:00")
    run_dir, job = submit(save_dir, "requeue", "--config", DIGITS, "trainer_params.max_epochs=60", spec=spec)
    wait_for(lambda: (run_dir / "ckpt" / "last.ckpt").exists() and of_kind(run_dir, "step"),
             timeout=180, what="training with a checkpoint")
    slurm.warn_time_limit(job)
    wait_for(lambda: len(of_kind(run_dir, "start")) == 2, timeout=180, what="the requeued job to start")
    first_end = of_kind(run_dir, "end")[0]
    assert first_end["status"] == "stopped" and "requeue" in first_end["reason"]
    wait_job_done(job)
    starts, ends = of_kind(run_dir, "start"), of_kind(run_dir, "end")
    assert starts[1]["resumed_from"].endswith("last.ckpt") and starts[1]["global_step"] > 0
    assert ends[-1]["status"] == "finished" and len(ends) == 2
