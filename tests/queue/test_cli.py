"""`torchx-tui queue` from a shell, as a script would use it: bad input is one line, exit status 2 and
nothing on disk; the listing shows each queued run on one line; `add` queues, `remove` takes it out."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DIGITS, REPO, wait_for
from tests.conftest import test_env as child_env
from tui.launch.request import LaunchRequest
from tui.queue import store
from tui.queue.runner import runner_pid

NEEDS_SBATCH = pytest.mark.skipif(shutil.which("sbatch") is None, reason="no sbatch: --slurm refused first")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, env=child_env())


@pytest.mark.parametrize(("args", "named"), [
    (["trainer_params.max_epochs=abc"], "'abc'"),
    (["--gpus", "-1"], "--gpus -1"),
    (["--name", "a/b"], "'a/b'"),
    (["max_epochs"], "'max_epochs'"),
    (["--partition", "gpu"], "--partition: a Slurm field, only with --slurm"),
    pytest.param(["--slurm", "--time", "soon"], "'soon'", marks=NEEDS_SBATCH),
    pytest.param(["--slurm", "--tasks-per-node", "0"], "'0'", marks=NEEDS_SBATCH),
    pytest.param(["--slurm", "--gpus-per-node", "2", "--tasks-per-node", "1"], "one task per GPU",
                 marks=NEEDS_SBATCH),
    pytest.param(["--slurm", "--cpu-processes", "2"], "--cpu-processes 2: with --slurm", marks=NEEDS_SBATCH),
    pytest.param(["--slurm", "--sbatch", "mem=8G"], "'mem=8G'", marks=NEEDS_SBATCH),
])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path, args: list[str], named: str) -> None:
    save = tmp_path / "save"
    out = cli("queue", "--save-dir", str(save), "add", "--config", DIGITS, *args)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.splitlines()) == 1 and named in out.stderr, out.stderr
    assert not save.exists()


def test_a_missing_config_and_a_taken_name_are_refused(save_dir: Path) -> None:
    out = cli("queue", "--save-dir", str(save_dir), "add", "--config", "configs/nope.yaml")
    assert out.returncode == 2 and "configs/nope.yaml: not a file" in out.stderr
    (save_dir / "taken").mkdir()
    out = cli("queue", "--save-dir", str(save_dir), "add", "--config", DIGITS, "--name", "taken")
    assert out.returncode == 2 and "'taken' already exists" in out.stderr
    assert sorted(p.name for p in save_dir.iterdir()) == ["taken"]


def test_the_listing_is_one_line_a_run_in_order(save_dir: Path) -> None:
    store.queue(LaunchRequest(REPO / DIGITS, "first", save_dir, cpu_processes=2), now=0.0)
    store.queue(LaunchRequest(REPO / DIGITS, "second", save_dir, (0,)))
    out = cli("--save-dir", str(save_dir), "queue")
    assert out.returncode == 0
    first, second = out.stdout.splitlines()
    assert first.split()[:4] == ["1", "first", "digits-classification", "cpu×2"] and "queued" in first
    assert second.split()[:5] == ["2", "second", "digits-classification", "1", "GPU"]
    assert "no runner" in out.stderr


@pytest.mark.slow
def test_add_queues_checks_and_starts_a_runner_remove_takes_it_out(save_dir: Path, reap) -> None:
    assert cli("queue", "--save-dir", str(save_dir), "pause").returncode == 0
    out = cli("queue", "--save-dir", str(save_dir), "add", "--config", DIGITS, "--name", "later", "seed=7")
    assert out.returncode == 0 and out.stdout == "later\n", out.stderr
    assert [r.name for r in store.queued_runs(save_dir)] == ["later"]
    assert store.queued_runs(save_dir)[0].request.overrides == ("seed=7",)
    wait_for(lambda: runner_pid(save_dir), 120, "the runner to hold its lock")  # paused: it waits
    listed = cli("queue", "--save-dir", str(save_dir))
    assert listed.stdout.startswith("  1  later") and "paused" in listed.stderr
    assert cli("queue", "--save-dir", str(save_dir), "remove", "later").returncode == 0
    wait_for(lambda: runner_pid(save_dir) is None, 120, "the runner to leave an empty queue")
    assert not (save_dir / "later").exists() and not store.queued_runs(save_dir)
