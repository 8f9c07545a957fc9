"""The TUI on the real local Slurm cluster, keys only: launch from the dialog, follow the job in the
table, stop, resume and kill it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import wait_until
from helpers import TINY, focus, make_app, open_launch, replace_text, select, wait_status

from tests.conftest import REPO
from tests.slurm.test_slurm_runs import of_kind
from tui.app import TorchxApp
from tui.launch.request import LaunchRequest
from tui.launch.slurm import SlurmLauncher, SlurmSpec
from tui.screens.confirm import ConfirmScreen
from tui.screens.launch import LaunchScreen
from tui.screens.run_view import RunViewScreen

pytestmark = [pytest.mark.usefixtures("slurm_cluster"), pytest.mark.timeout(1800)]


def slurm_app(tmp_path: Path) -> TorchxApp:
    return make_app(tmp_path, slurm=SlurmLauncher(workdir=REPO))


def squeue_tasks(job_id: str) -> str:
    """The job's lines in `squeue` (queued or running jobs only)."""
    out = subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def run_json(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


async def confirm(pilot, app: TorchxApp, key: str) -> None:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "a confirmation")
    await pilot.press("y")


async def launch_on_slurm(pilot, app: TorchxApp, name: str, overrides: str, **fields: str) -> None:
    """`n`, backend slurm (→, enter), the Slurm fields, name and overrides, `enter`."""
    screen = await open_launch(pilot, app, "digits.yaml")
    await focus(pilot, app, "backend")
    await pilot.press("right", "enter")
    assert screen.on_slurm
    for field, value in fields.items():
        await replace_text(pilot, app, field, value)
    await replace_text(pilot, app, "name", name)
    await replace_text(pilot, app, "overrides", overrides)
    await pilot.press("enter")
    await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), 120, f"{name} to be submitted")


async def test_dialog_submits_a_two_task_ddp_job_seen_running_then_finished(tmp_path: Path) -> None:
    app = slurm_app(tmp_path)
    run_dir = app.settings.save_dir / "ddp"
    async with app.run_test(size=(80, 24)) as pilot:
        await launch_on_slurm(pilot, app, "ddp", f"trainer_params.max_epochs=3 {TINY}",
                              **{"tasks-per-node": "2"})
        record = run_json(run_dir)
        assert record["backend"] == "slurm" and record["job_id"] and record["gpus"] == "cpu×2"
        script = (run_dir / "slurm.sbatch").read_text()
        assert "#SBATCH --ntasks-per-node=2\n" in script and script.count("srun ") == 1
        running = await wait_status(pilot, app, "ddp", "running", timeout=600)
        assert running.gpus == "cpu×2"
        finished = await wait_status(pilot, app, "ddp", "finished", timeout=600)
        assert finished.epoch == 3
        await pilot.press("enter")  # the run view: its stdout source is the job's output file
        await wait_until(pilot, lambda: isinstance(app.screen, RunViewScreen), 120, "the run view")
        stdout = app.screen.run_watch.logs["stdout.log"]
        await wait_until(pilot, lambda: any("GLOBAL_RANK: 1" in line for line in stdout.lines), 120,
                         "rank 1's output in the run view")
        assert stdout.path.name == f"slurm-{record['job_id']}.out"
        assert app.screen.snapshot.status == "finished"
    starts, ends = of_kind(run_dir, "start"), of_kind(run_dir, "end")
    assert len(starts) == 1 and len(ends) == 1 and ends[0]["status"] == "finished"
    assert starts[0]["world_size"] == 2
    assert (run_dir / f"slurm-{record['job_id']}.out").is_file()


async def test_stop_from_the_table_then_resume_finishes(tmp_path: Path) -> None:
    app = slurm_app(tmp_path)
    save = app.settings.save_dir
    request = LaunchRequest(Path("configs/digits-classification.yaml"), "long", save,
                            overrides=("trainer_params.max_epochs=30", *TINY.split()),
                            slurm=SlurmSpec(tasks_per_node=2))
    run_dir = app.settings.slurm.launch(request)
    job = run_json(run_dir)["job_id"]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_status(pilot, app, "long", "running", timeout=600, min_epoch=1)
        await select(pilot, app, "long")
        await confirm(pilot, app, "s")
        stopped = await wait_status(pilot, app, "long", "stopped", timeout=600)
        assert stopped.epoch < 30 and (run_dir / "ckpt" / "last.ckpt").is_file()
        assert squeue_tasks(job) == ""

        await confirm(pilot, app, "r")
        await wait_until(pilot, lambda: run_json(run_dir)["job_id"] != job, 120, "a new job")
        finished = await wait_status(pilot, app, "long", "finished", timeout=600)
        assert finished.epoch == 30
    starts = of_kind(run_dir, "start")
    assert len(starts) == 2 and starts[1]["global_step"] > 0
    assert [e["status"] for e in of_kind(run_dir, "end")] == ["stopped", "finished"]


async def test_a_pending_job_killed_from_the_table_is_cancelled(tmp_path: Path) -> None:
    app = slurm_app(tmp_path)
    run_dir = app.settings.save_dir / "later"
    async with app.run_test(size=(80, 24)) as pilot:
        await launch_on_slurm(pilot, app, "later", "trainer_params.max_epochs=1",
                              **{"time-limit": "10:00", "sbatch-extra": "--begin=now+3600 --comment 'x y'"})
        script = (run_dir / "slurm.sbatch").read_text()
        assert "#SBATCH --time=10:00\n" in script and "#SBATCH --begin=now+3600\n" in script
        assert "#SBATCH --comment 'x y'\n" in script
        await wait_status(pilot, app, "later", "pending", timeout=600)
        await confirm(pilot, app, "K")
        await wait_status(pilot, app, "later", "cancelled", timeout=600)
        assert squeue_tasks(run_json(run_dir)["job_id"]) == ""
