"""A sweep beyond one box: `torchx-tui sweep --slurm` on the real local cluster. The queue's runner submits
each trial as a Slurm job (at most `--parallel` in flight; Slurm places them), follows it through the
save dir the cluster shares, and tells Optuna's journal how it ended."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DIGITS, REPO, wait_for
from tests.conftest import test_env as child_env
from tests.slurm.test_slurm_runs import of_kind
from torchx.experiment import read_json
from tui.queue.sweeps.spec import load_sweep

pytestmark = [pytest.mark.usefixtures("slurm_cluster"), pytest.mark.timeout(1800)]


@pytest.fixture
def cancel_jobs(save_dir: Path, reap_tmp: None) -> Iterator[None]:
    """Whatever the test leaves submitted is cancelled (the runner itself is reaped by `reap_tmp`)."""
    yield
    for record in save_dir.glob("*/run.json"):
        job = (read_json(record) or {}).get("job_id")
        if job:
            subprocess.run(["scancel", str(job)], capture_output=True, timeout=30)


def test_a_sweep_submits_its_trials_to_slurm_and_both_finish(save_dir: Path, cancel_jobs: None) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--save-dir", str(save_dir), "sweep", "--config", DIGITS,
         "--space", "seed=1,2", "--slurm", "--time", "20:00", "--parallel", "2", "--name", "ss",
         "trainer_params.max_epochs=2"],
        cwd=REPO, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=child_env())
    assert out.returncode == 0 and out.stdout == "ss\n", out.stderr
    assert load_sweep(save_dir, "ss").request["slurm"]["tasks_per_node"] == 1

    wait_for(lambda: load_sweep(save_dir, "ss").done, timeout=1200, what="the sweep to be done")
    runs = [save_dir / "ss-0", save_dir / "ss-1"]
    for run_dir in runs:
        record = json.loads((run_dir / "run.json").read_text())
        assert record["backend"] == "slurm" and record["job_id"], record
        assert record["queued"]["sweep"] == "ss"
        assert [e["status"] for e in of_kind(run_dir, "end")] == ["finished"]
        assert len(of_kind(run_dir, "epoch")) == 2
    seeds = sorted(read_json(r / "run.json")["queued"]["request"]["overrides"][-1] for r in runs)
    assert seeds == ["seed=1", "seed=2"]

    shown = subprocess.run([sys.executable, "-m", "tui", "--save-dir", str(save_dir), "sweep", "show", "ss"],
                           cwd=REPO, capture_output=True, text=True, timeout=300, env=child_env())
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("complete") == 2, shown.stdout
