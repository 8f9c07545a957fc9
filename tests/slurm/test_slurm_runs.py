"""Real jobs on the local Slurm cluster: one warned of its time limit saves, is requeued and finishes;
one whose first rank is refused ends with its error.

Launch, stop, kill and resume are driven from the TUI in test_slurm_tui.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DIGITS, REPO, wait_for
from torchx.events import read_events
from torchx.experiment import read_json, reserve_run_dir
from tui.launch import slurm
from tui.launch.request import LaunchRequest
from tui.run import jobs
from tui.run.status import job_active

pytestmark = [pytest.mark.usefixtures("slurm_cluster"), pytest.mark.timeout(1800)]


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    events, bad = read_events(run_dir / "events.jsonl")
    assert not bad
    return events


def of_kind(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in events_of(run_dir) if e["event"] == kind]


def submit(save_dir: Path, name: str, *overrides: str, spec: slurm.SlurmSpec) -> tuple[Path, str]:
    """Launch `name` on the digits config as the TUI does (a reserved directory, the job given its token)."""
    request = LaunchRequest(Path(DIGITS), name, save_dir, overrides=overrides, slurm=spec)
    run_dir = slurm.SlurmLauncher(workdir=REPO).launch(request)
    return run_dir, read_json(run_dir / "run.json")["job_id"]


def wait_job_done(job_id: str, timeout: float = 600) -> None:
    wait_for(lambda: not job_active(jobs.job_state(job_id)), timeout=timeout, what=f"job {job_id} to end")


def test_time_limit_warning_saves_requeues_and_finishes(save_dir: Path) -> None:
    spec = slurm.SlurmSpec(nodes=1, tasks_per_node=2, time_limit="30:00")
    run_dir, job = submit(save_dir, "requeue", "trainer_params.max_epochs=60", spec=spec)
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


def test_a_job_whose_first_rank_is_refused_ends_with_its_error(save_dir: Path) -> None:
    """Rank 0 refuses a directory it was not given (a taken name) before the process group forms; the
    other rank, which never claims, must not wait for it until the time limit."""
    run_dir = reserve_run_dir(save_dir, "taken")
    args = ["--config", DIGITS, "--name", "taken", "--save-dir", str(save_dir)]
    spec = slurm.SlurmSpec(nodes=1, tasks_per_node=2, time_limit="30:00")
    script = slurm.sbatch_script(run_dir, args, spec, workdir=REPO)
    job = slurm.submit(run_dir, script)
    wait_job_done(job, timeout=600)
    output = (run_dir / f"slurm-{job}.out").read_text()
    assert "error: run 'taken' already exists" in output
    assert not (run_dir / "events.jsonl").exists()
