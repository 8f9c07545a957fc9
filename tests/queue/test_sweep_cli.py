"""`torchx-tui sweep` from a shell: bad input is one line, exit status 2 and nothing on disk; a good
sweep is written (its `sweep.json` and its study's journal) and named; `extend`, `cancel`, `show` and
`list` work on what is on disk."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DIGITS, REPO
from tests.conftest import test_env as child_env
from tui.queue import store
from tui.queue.sweeps.spec import load_sweep

LR = "train_wrapper.args.optim_spec.args.lr"
NEEDS_SBATCH = pytest.mark.skipif(shutil.which("sbatch") is None, reason="no sbatch: --slurm refused first")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, env=child_env())


def sweep(save: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("--save-dir", str(save), "sweep", "--config", DIGITS, *args)


@pytest.mark.parametrize(("args", "named"), [
    (["--space", f"{LR}=loguniform(1e-2,1e-5)", "--trials", "3"], "low 1e-2"),
    (["--space", f"{LR}=logunifrom(1e-5,1e-2)", "--trials", "3"], "did you mean loguniform"),
    (["--space", f"{LR}=loguniform(1e-5,1e-2)", "--sampler", "grid"], "is not a list of choices"),
    (["--space", f"{LR}=loguniform(1e-5,1e-2)"], "--trials"),
    (["--space", f"{LR}=1e-3,1e-4", "--trials", "3"], "grid 2"),
    (["--space", f"{LR}=1e-3,1e-4", f"{LR}=1e-2"], "its key is swept"),
    (["--space", "seed=1,2", "--parallel", "0"], "--parallel 0"),
    (["--space", "seed=1,2", "--cpu-processes", "999"], "--cpu-processes 999"),
    (["--space", "seed=1,2", "--name", "a/b"], "'a/b'"),
    (["--space", "seed=1,2", "--mode", "up"], "'up'"),
    (["--space", "seed=1,2", "--bogus"], "--bogus"),
    (["--space", "seed=1,2", "checkpoint.monitor=null"], "--metric"),
    (["--space", "seed=1,2", "--nodes", "2"], "--nodes: a Slurm field, only with --slurm"),
    pytest.param(["--space", "seed=1,2", "--slurm", "--gpus-per-trial", "1"],
                 "--gpus-per-trial 1: with --slurm", marks=NEEDS_SBATCH),
])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path, args: list[str], named: str) -> None:
    save = tmp_path / "save"
    out = sweep(save, *args)
    assert out.returncode == 2 and out.stdout == "", out
    assert len(out.stderr.splitlines()) == 1 and named in out.stderr, out.stderr
    assert not (save / ".sweeps").exists()


def test_every_point_is_checked_by_the_framework(save_dir: Path) -> None:
    """The structure check refuses a choice of a grid, the full check a bound no run could start with."""
    out = sweep(save_dir, "--space", "trainer_params.max_epochs=1,abc")
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1 and "'abc'" in out.stderr, out.stderr
    out = sweep(save_dir, "--space", "data_module.args.batch_size=int(0,64)", "--trials", "2")
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr
    assert "data_module.args.batch_size=0" in out.stderr
    assert not (save_dir / ".sweeps").exists() and not list(save_dir.iterdir())


def test_a_sweep_is_written_named_extended_cancelled_listed(save_dir: Path, reap) -> None:
    store.pause(save_dir)  # nothing launches: this test looks at the files
    out = sweep(save_dir, "--space", f"{LR}=loguniform(1e-4,1e-2)", "--space", "seed=int(1,9)",
                "--trials", "3", "--prune", "--parallel", "2", "--name", "s1", "trainer_params.max_epochs=2")
    assert out.returncode == 0 and out.stdout == "s1\n", out.stderr
    record = json.loads((save_dir / ".sweeps" / "s1" / "sweep.json").read_text())
    assert record["space"] == {LR: "loguniform(1e-4,1e-2)", "seed": "int(1,9)"}
    assert (record["sampler"], record["trials"], record["parallel"]) == ("tpe", 3, 2)
    assert (record["metric"], record["mode"]) == ("val/acc", "max")  # the config's checkpoint
    assert record["prune"] == {"startup_trials": 2, "warmup_epochs": 1}
    assert record["request"]["overrides"] == ["trainer_params.max_epochs=2"]
    assert (save_dir / ".sweeps" / "s1" / "journal.log").stat().st_size > 0
    taken = sweep(save_dir, "--space", "seed=1,2", "--name", "s1")
    assert taken.returncode == 2 and "already exists" in taken.stderr
    extended = cli("--save-dir", str(save_dir), "sweep", "extend", "s1", "--trials", "2")
    assert extended.stdout == "s1: 5 trials\n"
    assert load_sweep(save_dir, "s1").trials == 5
    assert cli("sweep", "cancel", "s1", "--save-dir", str(save_dir)).returncode == 0
    assert load_sweep(save_dir, "s1").cancelled
    refused = cli("--save-dir", str(save_dir), "sweep", "extend", "s1", "--trials", "2")
    assert refused.returncode == 2 and "cancelled" in refused.stderr
    listed = cli("--save-dir", str(save_dir), "sweep", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("s1  tpe  0/0 told of 5  cancelled"), listed
    shown = cli("--save-dir", str(save_dir), "sweep", "show", "s1")
    assert shown.returncode == 0 and shown.stdout.startswith("sweep s1 · tpe · 5 trials"), shown
    assert "best: none yet" in shown.stdout
    missing = cli("--save-dir", str(save_dir), "sweep", "show", "nope")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "sweeps: s1" in missing.stderr


def test_the_queue_listing_shows_trials_and_unfinished_sweeps(save_dir: Path) -> None:
    from tests.queue.test_sweep_driver import new_sweep
    from tui.queue.sweeps.driver import SweepDriver

    made = new_sweep(save_dir, ["seed=int(0,999)"], trials=3)
    driver = SweepDriver(save_dir, log=lambda _: None)
    driver.tick()
    assert driver.ask(made) is not None
    out = cli("--save-dir", str(save_dir), "queue")
    assert out.returncode == 0, out.stderr
    trial, line = out.stdout.splitlines()
    assert trial.split()[:4] == ["1", "s-0", "digits-classification", "cpu"]
    assert trial.endswith("sweep s trial 0")
    assert line == "sweep s  random  1 of 3 trials started  cpu each, 2 at a time"
    assert "no runner" in out.stderr


def test_the_preview_says_what_the_sweep_will_do() -> None:
    from tui.queue.sweeps.make import preview
    from tui.queue.sweeps.space import parse_space
    from tui.queue.sweeps.spec import Pruning, Sweep

    grid = Sweep("g", {"gpus": 1}, parse_space(["a.x=1,2,3", "a.y=4,5,6,7"]), "grid", 12, "val/acc", "max",
                 parallel=4)
    assert preview(grid) == "12 runs (grid 3×4), 1 GPU each, 4 at a time"
    tpe = Sweep("t", {"cpu_processes": 2}, parse_space(["a.lr=loguniform(1e-5,1e-2)"]), "tpe", 20, "val/acc",
                "max", parallel=2, prune=Pruning())
    assert preview(tpe) == "20 runs (tpe, pruned below the median), cpu×2 each, 2 at a time"
