"""Sweeps end to end, made from the CLI and run by the queue's runner with real processes on CPU slots:
a 2×2 grid two at a time; a TPE sweep whose pruner stops the hopeless trials; kill -9 of the runner
mid-sweep (trials that end while no runner lives are told from their events); and a runner killed
again and again at random moments (a stand-in trainer): never a duplicate, never a lost trial."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from tests.conftest import DIGITS, REPO, wait_for
from tests.conftest import test_env as child_env
from tests.queue.test_runner import QUICK, events
from torchx.experiment import read_json
from torchx.summary import RunSummary
from tui.queue.devices import Limits, save_limits
from tui.queue.runner import RUNNER_ENTRY, ensure_runner, runner_pid
from tui.queue.sweeps import study as studies
from tui.queue.sweeps.make import make
from tui.queue.sweeps.space import parse_space
from tui.queue.sweeps.spec import Sweep, load_sweep
from tui.queue.sweeps.trials import epoch_values
from tui.queue.sweeps.view import SweepReader, header, trial_status
from tui.run.files import trial_of
from tui.run.status import run_status

LR = "train_wrapper.args.optim_spec.args.lr"
TINY = ("trainer_params.max_epochs=1", "trainer_params.limit_train_batches=3",
        "trainer_params.limit_val_batches=2", "trainer_params.log_every_n_steps=1",
        "trainer_params.enable_model_summary=false")
LONGER = ("trainer_params.max_epochs=20", "trainer_params.limit_train_batches=10",
          "trainer_params.limit_val_batches=2", "trainer_params.log_every_n_steps=5",
          "trainer_params.enable_model_summary=false")
"""Twenty short epochs: a pruned trial is caught early in its run, not after its end."""
LIMIT_S = 600


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, env=child_env())


def trials(save: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=name, storage=studies.storage(save, name))
    return study.get_trials(deepcopy=False)


def wait_done(save: Path, name: str, limit: float = LIMIT_S) -> None:
    wait_for(lambda: load_sweep(save, name).done and runner_pid(save) is None, limit,
             f"sweep {name} to be done")


def status_of(run_dir: Path) -> str:
    summary = RunSummary()
    summary.update(events(run_dir))
    return run_status(summary, read_json(run_dir / "run.json"))


def check_one_run_each(save: Path, name: str, count: int) -> list[optuna.trial.FrozenTrial]:
    """Trials 0..count-1 in the journal, every one told, each with exactly one run `<name>-<n>` that
    names it and was launched at most once; no other run in the save dir."""
    told = trials(save, name)
    assert [t.number for t in told] == list(range(count))
    assert all(t.state != TrialState.RUNNING for t in told), [t.state for t in told]
    assert sorted(p.name for p in save.iterdir() if not p.name.startswith(".")) == \
        sorted(f"{name}-{n}" for n in range(count))
    for trial in told:
        record = read_json(save / f"{name}-{trial.number}" / "run.json")
        assert record is not None and trial_of(record) == (name, trial.number)
        assert len(record.get("launches") or []) <= 1
        assert trial.user_attrs[studies.RUN_ATTR] == f"{name}-{trial.number}"
    return told


def check_told_from_events(save: Path, name: str, metric: str = "val/acc") -> None:
    """Each complete trial was told its run's best epoch (its events say which)."""
    for trial in trials(save, name):
        if trial.state == TrialState.COMPLETE:
            values = epoch_values(events(save / f"{name}-{trial.number}"), metric)
            assert trial.value == max(v for _, v in values)
            assert trial.intermediate_values == dict(values)


@pytest.mark.slow
def test_a_2x2_grid_two_at_a_time(save_dir: Path, reap) -> None:
    save_limits(save_dir, Limits(cpu_slots=2))
    out = cli("--save-dir", str(save_dir), "sweep", "--config", DIGITS, "--space", f"{LR}=1e-3,1e-2",
              "--space", "data_module.args.batch_size=32,64", "--parallel", "2", "--name", "g", *TINY)
    assert out.returncode == 0 and out.stdout == "g\n", out.stderr
    wait_done(save_dir, "g")
    told = check_one_run_each(save_dir, "g", 4)
    assert [t.state for t in told] == [TrialState.COMPLETE] * 4
    points = set()
    spans = []
    for trial in told:
        run_dir = save_dir / f"g-{trial.number}"
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        lr, batch = trial.params[LR], trial.params["data_module.args.batch_size"]
        assert config["train_wrapper"]["args"]["optim_spec"]["args"]["lr"] == lr
        assert config["data_module"]["args"]["batch_size"] == batch
        assert config["trainer_params"]["max_epochs"] == 1  # the sweep's own overrides too
        points.add((lr, batch))
        assert status_of(run_dir) == "finished"
        record = read_json(run_dir / "run.json")
        assert record is not None
        spans.append((record["launched_at"], next(e["time"] for e in events(run_dir) if e["event"] == "end")))
    assert points == {(1e-3, 32), (1e-3, 64), (1e-2, 32), (1e-2, 64)}  # each point of the grid once
    for t, _ in spans:
        alive = sum(1 for s, e in spans if s <= t < e)
        assert alive <= 2, f"{alive} trials alive at once: {sorted(spans)}"
    check_told_from_events(save_dir, "g")


def seed_with_hopeless_trials(space_texts: list[str], count: int, good: float) -> int:
    """A sampler seed whose first two trials take `good` and at least two later ones do not: the sampler
    is asked exactly as the runner asks it (TPE's first trials are random, seeded per trial), so the
    test holds on any Optuna that keeps its seeds deterministic."""
    space = parse_space(space_texts)
    for seed in range(200):
        sweep = Sweep("probe", {}, space, "tpe", count, "val/acc", "max", seed=seed)
        study = optuna.create_study(direction="maximize")
        values = []
        for n in range(count):
            study.sampler = studies.sampler(sweep, n)
            trial = study.ask(studies.distributions(space))
            values.append(trial.params[LR])
            study.tell(trial, 0.0)
        if values[:2] == [good, good] and values[2:].count(good) <= count - 4:
            return seed
    raise AssertionError("no seed gives two good first trials")


@pytest.mark.slow
def test_a_tpe_sweep_prunes_the_hopeless_trials(save_dir: Path, reap) -> None:
    """lr 1e-9 cannot learn in a few epochs: once a trial with lr 1e-2 has completed, the median pruner
    stops each 1e-9 trial at its first epoch (SIGINT: it keeps its last.ckpt)."""
    save_limits(save_dir, Limits(cpu_slots=2))
    space = [f"{LR}=1e-2,1e-9"]
    seed = seed_with_hopeless_trials(space, 6, 1e-2)
    out = cli("--save-dir", str(save_dir), "sweep", "--config", DIGITS, "--space", space[0], "--trials", "6",
              "--sampler", "tpe", "--seed", str(seed), "--prune", "--prune-startup", "1",
              "--prune-warmup", "0", "--parallel", "2", "--name", "p", *LONGER)
    assert out.returncode == 0 and out.stdout == "p\n", out.stderr
    wait_done(save_dir, "p")
    told = check_one_run_each(save_dir, "p", 6)
    states = {t.number: t.state for t in told}
    assert set(states.values()) <= {TrialState.COMPLETE, TrialState.PRUNED}, states
    pruned = [t for t in told if t.state == TrialState.PRUNED]
    assert pruned, f"nothing was pruned: {[(t.number, t.params, t.state) for t in told]}"
    for trial in told:
        run_dir = save_dir / f"p-{trial.number}"
        record: dict[str, Any] = read_json(run_dir / "run.json") or {}
        if trial.state == TrialState.PRUNED:
            assert status_of(run_dir) == "pruned" and record.get("pruned_at")
            assert trial.params[LR] == 1e-9
            assert (run_dir / "ckpt" / "last.ckpt").is_file()  # a graceful stop
            assert len(epoch_values(events(run_dir), "val/acc")) < 20
        else:
            assert status_of(run_dir) == "finished" and "pruned_at" not in record
    check_told_from_events(save_dir, "p")
    shown = cli("--save-dir", str(save_dir), "sweep", "show", "p")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    rows = [line.split() for line in lines[2:2 + len(told)]]  # #, trial, run, state, status, value, epochs, …
    assert sorted(int(r[1]) for r in rows) == list(range(6))
    order = [r[3] for r in rows]
    assert order == sorted(order, key=["complete", "pruned"].index)  # complete ones first, then pruned
    assert [r[4] for r in rows] == ["finished" if r[3] == "complete" else "pruned" for r in rows]
    top = max(t.value for t in told if t.state == TrialState.COMPLETE and t.value is not None)
    assert float(rows[0][5]) == pytest.approx(top, rel=1e-5)
    assert lines[-1].startswith(f"best: trial {rows[0][1]} (p-{rows[0][1]}) val/acc {top:.6g}")
    read = SweepReader(save_dir, "p").read()  # what the TUI's sweep view shows
    assert read is not None and read.data is not None and not read.error
    assert [str(r.number) for r in read.data.rows] == [r[1] for r in rows]
    assert [trial_status(r) for r in read.data.rows] == [r[4] for r in rows]
    assert f"6/6 told · best p-{rows[0][1]} " in header(read.data)


@pytest.mark.slow
def test_kill_9_of_the_runner_mid_sweep(save_dir: Path, reap) -> None:
    """The runner dies with two trials running; they finish with no runner; the next runner tells them
    from their events, asks the last two, and the sweep ends with trials 0..3, one run each."""
    save_limits(save_dir, Limits(cpu_slots=2))
    out = cli("--save-dir", str(save_dir), "sweep", "--config", DIGITS, "--space", "seed=int(1,1000)",
              "--trials", "4", "--sampler", "random", "--parallel", "2", "--name", "k", *LONGER)
    assert out.returncode == 0, out.stderr
    first = wait_for(lambda: runner_pid(save_dir), LIMIT_S, "the runner")
    wait_for(lambda: events(save_dir / "k-0") and events(save_dir / "k-1"), LIMIT_S, "two trials to start")
    assert isinstance(first, int) and first > 0
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: runner_pid(save_dir) is None, LIMIT_S, "the lock to be free")
    assert not (save_dir / "k-2").exists()
    wait_for(lambda: all(status_of(save_dir / f"k-{n}") == "finished" for n in (0, 1)), LIMIT_S,
             "the orphaned trials to finish")
    assert [t.state for t in trials(save_dir, "k")] == [TrialState.RUNNING] * 2  # nobody told them
    assert ensure_runner(save_dir, env=child_env()) not in (None, first)
    wait_done(save_dir, "k")
    told = check_one_run_each(save_dir, "k", 4)
    assert [t.state for t in told] == [TrialState.COMPLETE] * 4
    check_told_from_events(save_dir, "k")


@pytest.mark.slow
def test_kill_9_at_any_moment_never_duplicates_nor_loses_a_trial(save_dir: Path, reap) -> None:
    """A stand-in trainer (3 epochs of 0.3 s, its objective known from its seed) and a runner killed
    again and again at random moments, in `ask`, in a queue write, in a launch, in a report or a tell:
    the sweep ends with trials 0..11, each with one run, launched at most once; every complete trial was
    told its run's best epoch; a trial whose launch was cut before its child existed failed."""
    save_limits(save_dir, Limits(cpu_slots=2))
    space = parse_space(["seed=int(0,999)"])
    request = {"config": str(REPO / DIGITS), "name": "r", "save_dir": str(save_dir), "gpus": 0,
               "cpu_processes": 1, "overrides": [], "slurm": None, "workdir": str(REPO)}
    make(save_dir, Sweep("r", request, space, "random", 12, "val/acc", "max", parallel=2))
    env = {**child_env(), "QUICK_S": "0.3", "QUICK_EPOCHS": "3"}
    entry = (*RUNNER_ENTRY, "--poll-s", "0.2", "--trainer", f"{sys.executable} {QUICK}")
    rng = random.Random(14)
    deadline = time.monotonic() + LIMIT_S
    kills = 0
    while not load_sweep(save_dir, "r").done and time.monotonic() < deadline:
        pid = ensure_runner(save_dir, env=env, entry=entry)
        time.sleep(rng.uniform(0.4, 1.2))
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
                kills += 1
            except ProcessLookupError:
                pass
        wait_for(lambda: runner_pid(save_dir) is None, LIMIT_S, "the lock to be free")
    wait_done(save_dir, "r", 1)
    assert kills >= 5
    told = check_one_run_each(save_dir, "r", 12)
    for trial in told:
        run_dir = save_dir / f"r-{trial.number}"
        record = read_json(run_dir / "run.json") or {}
        assert f"seed={trial.params['seed']}" in record["queued"]["request"]["overrides"]
        if trial.state == TrialState.COMPLETE:
            assert trial.value == pytest.approx(trial.params["seed"] / 1000 + 0.02)
        else:
            assert trial.state == TrialState.FAIL and not events(run_dir), (trial.number, trial.state)
    assert sum(t.state == TrialState.COMPLETE for t in told) >= 6
    check_told_from_events(save_dir, "r")
