"""A real job on the local Slurm cluster warned of its time limit: it saves, is requeued and finishes.

Launch, stop, kill and resume are driven from the TUI in test_slurm_tui.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DIGITS, REPO, wait_for
from torchx.events import read_events
from torchx.experiment import reserve_run_dir
from tui.launch import slurm
from tui.run import jobs
from tui.run.status import job_active

pytestmark = [pytest.mark.usefixtures("slurm_cluster"), pytest.mark.timeout(1800)]


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    events, bad = read_events(run_dir / "events.jsonl")
    assert not bad
    return events


def of_kind(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in events_of(run_dir) if e["event"] == kind]


def submit(save_dir: Path, name: str, *args: str, spec: slurm.SlurmSpec) -> tuple[Path, str]:
    run_dir = reserve_run_dir(save_dir, name)
    entry_args = [*args, "--name", name, "--save-dir", str(save_dir)]
    script = slurm.sbatch_script(run_dir, entry_args, spec, workdir=REPO, python=sys.executable)
    return run_dir, slurm.submit(run_dir, script)


def wait_job_done(job_id: str, timeout: float = 600) -> None:
    wait_for(lambda: not job_active(jobs.job_state(job_id)), timeout=timeout, what=f"job {job_id} to end")


def test_time_limit_warning_saves_requeues_and_finishes(save_dir: Path) -> None:
    spec = slurm.SlurmSpec(nodes=1, tasks_per_node=2, time_limit="30:00")
    run_dir, job = submit(save_dir, "requeue", "--config", DIGITS, "trainer_params.max_epochs=60", spec=spec)
    wait_for(lambda: (run_dir / "ckpt" / "last.ckpt").exists() and of_kind(run_dir, "step"),
             timeout=600, what="training with a checkpoint")
    jobs.SlurmJob(job).warn_time_limit()
    wait_for(lambda: len(of_kind(run_dir, "start")) == 2, timeout=600, what="the requeued job to start")
    first_end = of_kind(run_dir, "end")[0]
    assert first_end["status"] == "stopped" and "requeue" in first_end["reason"]
    wait_job_done(job)
    starts, ends = of_kind(run_dir, "start"), of_kind(run_dir, "end")
    assert starts[1]["resumed_from"].endswith("last.ckpt") and starts[1]["global_step"] > 0
    assert ends[-1]["status"] == "finished" and len(ends) == 2
