"""The sweep driver re-attaching to what a killed runner left, one window at a time, without processes:
the journal and the run directories are written as the runner would have left them, then one `tick`
of a new driver must put each trial back on its way: queued again with the same params (or the params
it lacked), told from its run's events, failed when its run was removed, and the sweep marked done."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import DIGITS, REPO
from tests.tui.test_status import ALIVE, DEAD
from torchx.experiment import read_json
from tui.launch.request import write_run_json
from tui.queue import store
from tui.queue.sweeps import driver as driver_module
from tui.queue.sweeps import study as studies
from tui.queue.sweeps.driver import SweepDriver
from tui.queue.sweeps.make import make
from tui.queue.sweeps.space import parse_space
from tui.queue.sweeps.spec import Pruning, Sweep, load_sweep, write_sweep
from tui.run.files import trial_of
from tui.run.status import PRUNED_AT

T = 1_795_000_000.0


def new_sweep(save: Path, space: list[str], sampler: str = "random", trials: int = 3,
              prune: Pruning | None = None) -> Sweep:
    request = {"config": str(REPO / DIGITS), "name": "s", "save_dir": str(save), "gpus": 0,
               "cpu_processes": 1, "overrides": ["trainer_params.max_epochs=3"], "slurm": None,
               "workdir": str(REPO)}
    parsed = parse_space(space)
    sweep = Sweep("s", request, parsed, sampler, parsed.grid_size() if sampler == "grid" else trials,
                  "val/acc", "max", parallel=2, prune=prune)
    make(save, sweep)
    return sweep


def journal(save: Path, sweep: Sweep) -> optuna.Study:
    return studies.open_study(save, sweep)


def states(save: Path, sweep: Sweep) -> list[TrialState]:
    return [t.state for t in journal(save, sweep).get_trials()]


def queued_overrides(save: Path, name: str) -> list[str]:
    run = store.still_queued(save / name)
    assert run is not None, f"{name} is not queued"
    return list(run.request.overrides)


def launched(save: Path, name: str, events: list[dict[str, Any]], start_pid: dict[str, Any] = DEAD,
             **more: Any) -> None:
    """The run as its launch left it: the launch in run.json (its child gone), its events (the trainer's
    process: `start_pid`)."""
    record = read_json(save / name / "run.json") or {}
    write_run_json(save / name, {**record, "backend": "local", "host": os.uname().nodename,
                                 "launched_at": T - 5, "launches": [{}], **DEAD, **more})
    with open(save / name / "events.jsonl", "w") as out:
        for event in [{"event": "start", "time": T, "host": os.uname().nodename, **start_pid}, *events]:
            out.write(json.dumps({"v": 1, **event}) + "\n")


def epoch(n: int, acc: float) -> dict[str, Any]:
    return {"event": "epoch", "time": T + n + 1, "epoch": n, "step": n, "metrics": {"val/acc": acc}}


def end(status: str) -> dict[str, Any]:
    return {"event": "end", "time": T + 50, "status": status}


def test_killed_between_ask_and_queue_the_trial_is_queued_with_its_params(save_dir: Path) -> None:
    sweep = new_sweep(save_dir, ["seed=int(0,999)"])
    asked = studies.ask(journal(save_dir, sweep), sweep)  # then the runner died
    driver = SweepDriver(save_dir, log=lambda _: None)
    driver.tick()
    seed = asked.params["seed"]
    assert queued_overrides(save_dir, "s-0") == ["trainer_params.max_epochs=3", f"seed={seed}"]
    assert trial_of(read_json(save_dir / "s-0" / "run.json")) == ("s", 0)
    (trial,) = journal(save_dir, sweep).get_trials()
    assert trial.user_attrs[studies.RUN_ATTR] == "s-0" and trial.state == TrialState.RUNNING
    SweepDriver(save_dir, log=lambda _: None).tick()  # another runner: nothing twice
    assert [r.name for r in store.queued_runs(save_dir)] == ["s-0"]


def test_killed_inside_ask_the_params_it_lacks_are_sampled(save_dir: Path) -> None:
    """A grid's trial created in the journal without its grid point yet gets the next unused point."""
    sweep = new_sweep(save_dir, ["seed=1,2", "trainer_params.limit_val_batches=2,3"], sampler="grid")
    driver = SweepDriver(save_dir, log=lambda _: None)
    driver.tick()
    first = [driver.ask(sweep), driver.ask(sweep)]
    assert all(first)
    storage = studies.storage(save_dir, "s")
    storage.create_new_trial(storage.get_study_id_from_name("s"))  # the runner died right after this
    driver.tick()
    points = {tuple(queued_overrides(save_dir, f"s-{n}")[1:]) for n in range(3)}
    assert len(points) == 3  # three different points of the grid
    trial = journal(save_dir, sweep).get_trials()[2]
    assert set(trial.params) == {"seed", "trainer_params.limit_val_batches"}


def test_killed_between_the_mkdir_and_run_json_the_directory_is_used(save_dir: Path) -> None:
    sweep = new_sweep(save_dir, ["seed=int(0,999)"])
    asked = studies.ask(journal(save_dir, sweep), sweep)
    (save_dir / "s-0").mkdir()  # reserved, then the runner died
    SweepDriver(save_dir, log=lambda _: None).tick()
    assert queued_overrides(save_dir, "s-0")[-1] == f"seed={asked.params['seed']}"


def test_a_name_taken_by_another_run_fails_the_trial(save_dir: Path) -> None:
    sweep = new_sweep(save_dir, ["seed=int(0,999)"])
    studies.ask(journal(save_dir, sweep), sweep)
    (save_dir / "s-0").mkdir()
    (save_dir / "s-0" / "note.txt").write_text("mine")
    SweepDriver(save_dir, log=lambda _: None).tick()
    (trial,) = journal(save_dir, sweep).get_trials()
    assert trial.state == TrialState.FAIL and "taken" in trial.user_attrs[studies.WHY_ATTR]
    assert (save_dir / "s-0" / "note.txt").read_text() == "mine"


@pytest.mark.parametrize(("events", "mark", "state", "value"), [
    ([epoch(0, 0.5), epoch(1, 0.8), epoch(2, 0.7), end("finished")], {}, TrialState.COMPLETE, 0.8),
    ([epoch(0, 0.1), end("stopped")], {PRUNED_AT: T + 2}, TrialState.PRUNED, 0.1),
    ([epoch(0, 0.1), end("stopped")], {}, TrialState.PRUNED, 0.1),  # stopped by hand
    ([epoch(0, 0.5), end("failed")], {}, TrialState.FAIL, None),
    ([epoch(0, 0.5)], {}, TrialState.FAIL, None),  # lost: its process is gone without an end
    ([end("finished")], {}, TrialState.FAIL, None),  # no epoch reported the objective
])
def test_a_run_that_ended_while_no_runner_lived_is_told_from_its_events(
        save_dir: Path, events: list[dict[str, Any]], mark: dict[str, Any], state: TrialState,
        value: float | None) -> None:
    sweep = new_sweep(save_dir, ["seed=int(0,999)"], trials=1)
    driver = SweepDriver(save_dir, log=lambda _: None)
    driver.tick()
    assert driver.ask(sweep) is not None
    launched(save_dir, "s-0", events, **mark)
    SweepDriver(save_dir, log=lambda _: None).tick()
    (trial,) = journal(save_dir, sweep).get_trials()
    assert trial.state == state and trial.value == value
    assert trial.intermediate_values == {e["epoch"]: e["metrics"]["val/acc"] for e in events
                                         if e["event"] == "epoch"}
    assert load_sweep(save_dir, "s").done  # its one trial is told


def test_a_queued_trial_removed_by_hand_fails_and_is_not_asked_again(save_dir: Path) -> None:
    sweep = new_sweep(save_dir, ["seed=int(0,999)"], trials=1)
    driver = SweepDriver(save_dir, log=lambda _: None)
    driver.tick()
    driver.ask(sweep)
    store.remove(save_dir, "s-0")
    driver.tick()
    (trial,) = journal(save_dir, sweep).get_trials()
    assert trial.state == TrialState.FAIL and not driver.wanting() and load_sweep(save_dir, "s").done


def test_a_cancelled_sweep_takes_its_queued_trials_out(save_dir: Path) -> None:
    sweep = new_sweep(save_dir, ["seed=int(0,999)"], trials=4)
    driver = SweepDriver(save_dir, log=lambda _: None)
    driver.tick()
    driver.ask(sweep)
    with store.edit_lock(save_dir):
        write_sweep(save_dir, replace(load_sweep(save_dir, "s"), cancelled=True))
    driver.tick()
    assert not store.queued_runs(save_dir) and not (save_dir / "s-0").exists()
    assert states(save_dir, sweep) == [TrialState.FAIL]
    assert load_sweep(save_dir, "s").done


@dataclass
class FakeRun:
    """The handle of a live run, whose stop is only noted."""

    name: str
    stopped: list[str]
    stop_note: str = "SIGINT sent"

    def stop(self) -> None:
        self.stopped.append(self.name)


def test_pruning_marks_the_run_before_it_stops_it(save_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With one complete trial at 0.9, a running trial at 0.1 is pruned: `pruned_at` in its run.json,
    then the stop, once (a second SIGINT would interrupt its checkpoint); told PRUNED once it has ended."""
    sweep = new_sweep(save_dir, ["seed=int(0,999)"], trials=2, prune=Pruning(1, 0))
    driver = SweepDriver(save_dir, log=lambda _: None)
    driver.tick()
    driver.ask(sweep)
    driver.ask(sweep)
    launched(save_dir, "s-0", [epoch(0, 0.9), end("finished")])
    launched(save_dir, "s-1", [epoch(0, 0.1)], start_pid=ALIVE)
    stopped: list[str] = []
    monkeypatch.setattr(driver_module, "handle", lambda run_dir, *_: FakeRun(run_dir.name, stopped))
    driver.tick()
    driver.tick()
    assert stopped == ["s-1"]
    assert (read_json(save_dir / "s-1" / "run.json") or {}).get(PRUNED_AT)
    assert states(save_dir, sweep) == [TrialState.COMPLETE, TrialState.RUNNING]
    with open(save_dir / "s-1" / "events.jsonl", "a") as out:
        out.write(json.dumps({"v": 1, **end("stopped")}) + "\n")
    driver.tick()
    assert states(save_dir, sweep) == [TrialState.COMPLETE, TrialState.PRUNED]
    assert load_sweep(save_dir, "s").done


def three_ended_trials(save_dir: Path) -> tuple[Sweep, SweepDriver]:
    """A two-key sweep `s` whose three trials have ended (0.5 and 0.7 finished, 0.1 pruned) and not yet
    been told: the driver's next tick tells them."""
    sweep = new_sweep(save_dir, ["seed=int(0,999)", "trainer_params.limit_val_batches=int(1,3)"], trials=3)
    driver = SweepDriver(save_dir, log=lambda _: None)
    driver.tick()
    for _ in range(3):
        driver.ask(sweep)
    launched(save_dir, "s-0", [epoch(0, 0.5), end("finished")])
    launched(save_dir, "s-1", [epoch(0, 0.7), end("finished")])
    launched(save_dir, "s-2", [epoch(0, 0.1), end("stopped")], pruned_at=T + 2)
    return sweep, driver


def test_results_rank_the_trials_and_importances_need_two_complete(save_dir: Path) -> None:
    sweep, driver = three_ended_trials(save_dir)
    assert studies.importances(save_dir, sweep) == {}
    driver.tick()
    rows = studies.results(save_dir, sweep)
    assert [(r.number, r.state, r.status, r.value, r.epochs) for r in rows] == [
        (1, "complete", "finished", 0.7, 1), (0, "complete", "finished", 0.5, 1),
        (2, "pruned", "pruned", 0.1, 1)]
    assert set(rows[0].params) == {"seed", "trainer_params.limit_val_batches"}
    assert set(studies.importances(save_dir, sweep)) == {"seed", "trainer_params.limit_val_batches"}
