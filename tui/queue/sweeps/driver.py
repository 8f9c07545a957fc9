"""The runner's part of a sweep (ask and tell): `SweepDriver.tick` follows every unfinished sweep's
trials in flight, and `ask` starts one more when the runner has a device for it.

Every tick, for each trial the journal holds as RUNNING, the driver reads the trial's run directory and
takes the one step `trials.decide` gives: queue its run (again), wait for the queue, follow it, stop it,
or tell Optuna how it ended. Following reports the objective of each new `epoch` event
(`trial.report(value, epoch)`) and, with pruning on, asks `trial.should_prune()`; a trial to prune gets
`pruned_at` in its `run.json` first, then a SIGINT through the run's own handle (the trainer saves
`last.ckpt` and ends `stopped`, which `run_status` shows as `pruned`), and is told PRUNED once its run
has ended. A run that finished is told its best epoch's objective (`trials.final_value`), a run that
failed or was lost FAIL.

Nothing is kept here that the disk does not say: the epochs are read again from the event log, and
what was reported is in the journal, so a runner started after a kill -9 takes up every trial where the
dead one left it (`trials`' notes list each window). A trial is asked only when the runner can launch it
now (a device is free for it, fewer than `parallel` trials in flight, fewer than `trials` asked): TPE
then sees every result that exists when it chooses. Torch- and Textual-free; imports Optuna.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from torchx.events import EventReader
from torchx.experiment import EVENTS_FILE, RUN_JSON, read_json
from torchx.summary import RunSummary
from tui.errors import LaunchError
from tui.launch.backends import handle
from tui.launch.request import write_run_json
from tui.queue import store
from tui.queue.devices import Need
from tui.queue.sweeps import study as studies
from tui.queue.sweeps.spec import Sweep, SweepScan, load_sweep, trial_name, write_sweep
from tui.queue.sweeps.trials import (
    COMPLETE,
    DROP,
    FAIL,
    FOLLOW,
    PRUNE,
    QUEUE,
    STOP,
    WAIT,
    RunFacts,
    decide,
    epoch_values,
    final_value,
    stop_due,
)
from tui.run.files import trial_of
from tui.run.status import PRUNED_AT, run_status

STOPPED_AT = "sweep_stopped_at"
"""`run.json`'s mark of a trial its cancelled sweep stopped (a pruned one has `pruned_at`)."""


@dataclass
class _Follower:
    """One trial's run as read so far: its events folded, its objective per epoch."""

    reader: EventReader
    metric: str
    summary: RunSummary = field(default_factory=RunSummary)
    values: list[tuple[int, float]] = field(default_factory=list)
    trial: Trial | None = None
    stop_sent: bool = False


@dataclass
class _Counts:
    asked: int = 0
    running: int = 0


class SweepDriver:
    def __init__(self, save_dir: Path, log: Callable[[str], None] = print) -> None:
        self.save_dir = Path(save_dir)
        self.log = log
        self.scan = SweepScan(self.save_dir)
        self._studies: dict[str, optuna.Study] = {}
        self._followers: dict[str, _Follower] = {}
        self._counts: dict[str, _Counts] = {}

    # ---- what the runner asks ----

    def tick(self) -> int:
        """Follow every unfinished sweep's trials; how many sweeps are still unfinished."""
        for sweep in self.scan.unfinished():
            try:
                self._tick(sweep)
            except Exception:  # one sweep's trouble (a damaged journal) must not stop the others
                self.log(f"sweep {sweep.name}: tick failed:\n{traceback.format_exc()}")
        return len(self.scan.unfinished(refresh=False))

    def wanting(self) -> list[Sweep]:
        """The sweeps that would ask a trial now, had they a device: not cancelled, fewer than
        `parallel` trials in flight, fewer than `trials` asked (as the last `tick` counted)."""
        return [s for s in self.scan.unfinished(refresh=False) if self.wants(s)]

    def wants(self, sweep: Sweep) -> bool:
        counts = self._counts.get(sweep.name)
        return (counts is not None and not sweep.cancelled and counts.asked < sweep.trials
                and counts.running < sweep.parallel)

    def need(self, sweep: Sweep) -> Need:
        """What its next trial needs, for the runner's `assign`."""
        name = trial_name(sweep.name, self._counts[sweep.name].asked)
        if sweep.request.get("slurm") is not None:
            return Need(name, slurm=True)
        if sweep.gpus:
            return Need(name, gpus=sweep.gpus)
        return Need(name, cpu=sweep.cpu_processes)

    def ask(self, sweep: Sweep) -> store.QueuedRun | None:
        """Ask Optuna for one trial and queue its run `<sweep>-<n>`; None when that failed."""
        study = self._study(sweep)
        trial = studies.ask(study, sweep)
        counts = self._counts[sweep.name]
        counts.asked, counts.running = counts.asked + 1, counts.running + 1
        return self._queue(sweep, study, trial, trial.params)

    # ---- one sweep ----

    def _tick(self, sweep: Sweep) -> None:
        study = self._study(sweep)
        for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            self._trial(sweep, study, frozen)
        trials = study.get_trials(deepcopy=False)
        running = sum(1 for t in trials if t.state == TrialState.RUNNING)
        self._counts[sweep.name] = _Counts(len(trials), running)
        if running == 0 and (sweep.cancelled or len(trials) >= sweep.trials):
            self._finish(sweep, len(trials))

    def _trial(self, sweep: Sweep, study: optuna.Study, frozen: FrozenTrial) -> None:
        name = trial_name(sweep.name, frozen.number)
        run_dir = self.save_dir / name
        record = read_json(run_dir / RUN_JSON)
        facts = self._facts(sweep, frozen.number, run_dir, record)
        step = decide(facts, studies.RUN_ATTR in frozen.user_attrs, sweep.cancelled)
        if step.action == QUEUE:
            trial = studies.attach(study, frozen)
            self._queue(sweep, study, trial, studies.params(trial, sweep.space))
            return
        if step.action == FAIL and not facts.ours:
            self._tell(study, frozen, TrialState.FAIL, why=step.why)
            return
        if studies.RUN_ATTR not in frozen.user_attrs:
            self._attached(study, frozen).set_user_attr(studies.RUN_ATTR, name)
        follower = self._follower(name, sweep.metric)
        new = self._report(study, frozen, follower)
        if step.action == WAIT:
            return
        if step.action == FOLLOW:
            self._maybe_prune(sweep, study, frozen, run_dir, record or {}, follower, new)
        elif step.action == STOP:
            self._stop(run_dir, record or {}, follower, STOPPED_AT, "its sweep was cancelled")
        elif step.action == DROP:
            self._drop(sweep, study, frozen, step.why)
        elif step.action == COMPLETE:
            value = final_value(follower.values, sweep.mode)
            if value is None:
                self._tell(study, frozen, TrialState.FAIL, why=f"no epoch reported {sweep.metric}")
            else:
                self._tell(study, frozen, TrialState.COMPLETE, value)
        elif step.action == PRUNE:
            self._tell(study, frozen, TrialState.PRUNED, why=step.why)
        else:
            self._tell(study, frozen, TrialState.FAIL, why=step.why)

    def _facts(self, sweep: Sweep, number: int, run_dir: Path, record: dict[str, Any] | None) -> RunFacts:
        if record is None:
            try:
                empty = run_dir.is_dir() and not any(run_dir.iterdir())
            except OSError:
                empty = False
            return RunFacts(exists=run_dir.exists(), empty=empty)
        if trial_of(record) != (sweep.name, number):
            return RunFacts(exists=True)
        follower = self._follower(run_dir.name, sweep.metric)
        self._read(follower)
        status = run_status(follower.summary, record, bad_lines=len(follower.reader.bad_lines))
        return RunFacts(exists=True, ours=True, status=status)

    def _follower(self, name: str, metric: str) -> _Follower:
        if name not in self._followers:
            self._followers[name] = _Follower(EventReader(self.save_dir / name / EVENTS_FILE), metric)
        return self._followers[name]

    @staticmethod
    def _read(follower: _Follower) -> None:
        events = follower.reader.read_new()
        follower.summary.update(events)
        follower.values += epoch_values(events, follower.metric)

    # ---- report, prune, stop ----

    def _report(self, study: optuna.Study, frozen: FrozenTrial, follower: _Follower) -> bool:
        """Report each epoch the journal lacks; whether any was new."""
        reported = set(frozen.intermediate_values)
        new = [(epoch, value) for epoch, value in follower.values if epoch not in reported]
        seen: set[int] = set()
        for epoch, value in new:
            if epoch not in seen:
                seen.add(epoch)
                self._attached(study, frozen, follower).report(value, epoch)
        return bool(seen)

    def _maybe_prune(self, sweep: Sweep, study: optuna.Study, frozen: FrozenTrial, run_dir: Path,
                     record: dict[str, Any], follower: _Follower, new: bool) -> None:
        """Ask the pruner after each new epoch; stop the trial it prunes."""
        if record.get(PRUNED_AT) is not None:  # decided before (by this runner or one since killed)
            self._stop(run_dir, record, follower, PRUNED_AT, "pruned")
            return
        if sweep.prune is None or not new:
            return
        trial = self._attached(study, frozen, follower)
        if trial.should_prune():
            epoch, value = follower.values[-1]
            self.log(f"{run_dir.name}: pruned at epoch {epoch} ({sweep.metric} {value:.6g})")
            self._stop(run_dir, record, follower, PRUNED_AT, "pruned")

    def _stop(self, run_dir: Path, record: dict[str, Any], follower: _Follower, mark: str, why: str) -> None:
        """Record the stop in `run.json` (once), then SIGINT the run (once: `trials.stop_due`)."""
        if not stop_due(record.get(mark), time.time(), follower.stop_sent):
            return
        summary = follower.summary
        run = handle(run_dir, summary.pid, summary.create_time, summary.boot_time)
        if run is None:  # no live process to signal yet (or any more): the next tick looks again
            return
        if record.get(mark) is None:
            with store.edit_lock(self.save_dir):
                current = read_json(run_dir / RUN_JSON)
                if current is not None:
                    write_run_json(run_dir, {**current, mark: time.time()})
        run.stop()
        follower.stop_sent = True
        self.log(f"{run_dir.name}: stopped ({why}): {run.stop_note}")

    def _drop(self, sweep: Sweep, study: optuna.Study, frozen: FrozenTrial, why: str) -> None:
        """A cancelled sweep's queued trial leaves the queue (to the trash) and fails; launched meanwhile,
        it is stopped at the next tick instead."""
        name = trial_name(sweep.name, frozen.number)
        try:
            store.remove(self.save_dir, name)
        except LaunchError:
            return
        except Exception as exc:  # the trash cannot take it: it leaves the queue as failed
            self.log(f"{name}: cannot move it to the trash ({exc}): marked failed")
            with store.edit_lock(self.save_dir):
                store.mark_failed(self.save_dir / name, why)
        self._tell(study, frozen, TrialState.FAIL, why=why)

    # ---- ask, queue, tell ----

    def _queue(self, sweep: Sweep, study: optuna.Study, trial: Trial,
               values: dict[str, Any]) -> store.QueuedRun | None:
        """Queue the trial's run, its params as overrides, then record it on the trial; a name taken
        by a run of no sweep fails the trial."""
        name = trial_name(sweep.name, trial.number)
        base = store.queued_run(self.save_dir / name, {"position": 0, "queued_at": 0.0,
                                                       "request": sweep.request})
        request = replace(base.request, overrides=(*base.request.overrides, *sweep.space.overrides(values)))
        try:
            queued = store.queue(request, base.gpus, workdir=base.workdir,
                                 extra={"sweep": sweep.name, "trial": trial.number}, adopt_empty=True)
        except LaunchError as exc:
            trial.set_user_attr(studies.WHY_ATTR, str(exc))
            studies.tell(study, trial.number, TrialState.FAIL)
            self.log(f"{name}: cannot queue it, trial {trial.number} failed: {exc}")
            return None
        trial.set_user_attr(studies.RUN_ATTR, name)
        self.log(f"{name}: queued ({' '.join(sweep.space.overrides(values))})")
        return queued

    def _tell(self, study: optuna.Study, frozen: FrozenTrial, state: TrialState, value: float | None = None,
              why: str = "") -> None:
        name = trial_name(study.study_name, frozen.number)
        if why:
            self._attached(study, frozen).set_user_attr(studies.WHY_ATTR, why)
        studies.tell(study, frozen.number, state, value)
        self._followers.pop(name, None)
        told = f"{value:.6g}" if value is not None else studies.STATES[state]
        self.log(f"{name}: trial {frozen.number} told {told}{f' ({why})' if why else ''}")

    def _attached(self, study: optuna.Study, frozen: FrozenTrial, follower: _Follower | None = None) -> Trial:
        if follower is None:
            return studies.attach(study, frozen)
        if follower.trial is None:
            follower.trial = studies.attach(study, frozen)
        return follower.trial

    def _study(self, sweep: Sweep) -> optuna.Study:
        if sweep.name not in self._studies:
            self._studies[sweep.name] = studies.open_study(self.save_dir, sweep)
        study = self._studies[sweep.name]
        study.pruner = studies.pruner(sweep)
        return study

    def _finish(self, sweep: Sweep, asked: int) -> None:
        """Every trial asked is told and no more will be: `done` (unless extended meanwhile)."""
        with store.edit_lock(self.save_dir):
            current = load_sweep(self.save_dir, sweep.name)
            if current.done or (current.trials > asked and not current.cancelled):
                return
            write_sweep(self.save_dir, replace(current, done=True))
        self.scan.refresh()
        self._studies.pop(sweep.name, None)
        self.log(f"sweep {sweep.name}: done ({asked} trials{', cancelled' if sweep.cancelled else ''})")
