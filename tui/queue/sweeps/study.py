"""A sweep's Optuna study: its journal (`JournalStorage` on `JournalFileBackend`, one JSON line an
operation, appended under a lock (`FlockLock`) and fsynced: several processes on a shared filesystem may
read and write it, and a process killed mid-way leaves every whole line it wrote), its sampler and
pruner, and
the trials as a ranked table (`results`, for `sweep show` and the TUI's sweep view).

Samplers: `grid` (GridSampler over the choices, one trial a point, always seeded with the sweep's seed:
it shuffles the grid once and gives trial n the n-th point, so a runner started again gives the same
points), `random` and `tpe` (RandomSampler, TPESampler), seeded with the sweep's seed plus the number of
trials asked so far: the stream of a restarted runner does not replay the first trials' points.

This module imports Optuna; only the runner's sweep driver and the `sweep` commands import it, never
`import tui` or the TUI's start. Torch- and Textual-free.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.pruners import BasePruner, MedianPruner, NopPruner
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage
from optuna.trial import FrozenTrial, Trial, TrialState

from torchx.events import EventReader
from torchx.experiment import EVENTS_FILE, RUN_JSON, read_json
from torchx.summary import RunSummary
from tui.queue.sweeps.space import CHOICES, INT, Param, Space
from tui.queue.sweeps.spec import Sweep, journal_path, trial_name
from tui.queue.sweeps.trials import TrialRow, epoch_values, rank
from tui.run.status import run_status

optuna.logging.set_verbosity(logging.WARNING)  # the runner's log says what it does, one line a step
RUN_ATTR = "run"
"""The trial's user attr naming its run: written once its run is queued (`trials.decide` reads it)."""
WHY_ATTR = "why"
"""The trial's user attr saying why it failed or was stopped."""
STATES = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "fail",
          TrialState.RUNNING: "running", TrialState.WAITING: "waiting"}


class FlockLock(JournalFileOpenLock):
    """The journal's lock as an flock on `journal.log.flock`, which the kernel releases when its holder
    dies: a runner killed in the middle of an append never leaves the journal locked. (Optuna's own
    file locks, a symlink or an O_EXCL file, are broken only after a 30 s grace that every process
    finding one waits afresh: each runner started after a kill would stall 30 s.) The save dir's other
    locks (`runner.lock`, `edit.lock`) are flocks too, so the sweep asks no more of a shared filesystem
    than the queue does."""

    def __init__(self, journal: str) -> None:
        super().__init__(journal)
        self._path = journal + ".flock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing releases the flock


def storage(save_dir: Path, name: str) -> JournalStorage:
    path = str(journal_path(save_dir, name))
    return JournalStorage(JournalFileBackend(path, lock_obj=FlockLock(path)))


def create_study(save_dir: Path, sweep: Sweep) -> None:
    """The sweep's study, empty, in its journal (made by the command that makes the sweep, before its
    `sweep.json` exists: a sweep that can be seen always has its study)."""
    optuna.create_study(storage=storage(save_dir, sweep.name), study_name=sweep.name,
                        direction="maximize" if sweep.mode == "max" else "minimize")


def open_study(save_dir: Path, sweep: Sweep) -> optuna.Study:
    return optuna.load_study(study_name=sweep.name, storage=storage(save_dir, sweep.name),
                             sampler=sampler(sweep, 0), pruner=pruner(sweep))


def sampler(sweep: Sweep, asked: int) -> BaseSampler:
    """The sampler that asks the trial after `asked` trials (see the module's note on seeds)."""
    if sweep.sampler == "grid":
        return GridSampler({p.key: list(p.choices) for p in sweep.space.params}, seed=sweep.seed)
    if sweep.sampler == "random":
        return RandomSampler(seed=sweep.seed + asked)
    return TPESampler(seed=sweep.seed + asked)


def pruner(sweep: Sweep) -> BasePruner:
    if sweep.prune is None:
        return NopPruner()
    return MedianPruner(n_startup_trials=sweep.prune.startup_trials, n_warmup_steps=sweep.prune.warmup_epochs)


def distribution(param: Param) -> BaseDistribution:
    if param.kind == CHOICES:
        return CategoricalDistribution(list(param.choices))
    if param.kind == INT:
        return IntDistribution(int(param.low), int(param.high))
    return FloatDistribution(param.low, param.high, log=param.log)


def distributions(space: Space) -> dict[str, BaseDistribution]:
    return {p.key: distribution(p) for p in space.params}


def ask(study: optuna.Study, sweep: Sweep) -> Trial:
    """A new trial with every param of the space (in the journal before this returns)."""
    study.sampler = sampler(sweep, len(study.get_trials(deepcopy=False)))
    return study.ask(distributions(sweep.space))


def tell(study: optuna.Study, number: int, state: TrialState, value: float | None = None) -> None:
    """Tell a trial how it ended (a trial told before stays as it was). A grid's sampler is set aside
    meanwhile: once the grid is done, `GridSampler.after_trial` calls `study.stop()`, which only
    `optimize` allows (a RuntimeError here, after the state is stored); the sweep counts its own trials."""
    kept = study.sampler
    if isinstance(kept, GridSampler):
        study.sampler = RandomSampler()
    try:
        study.tell(number, value, state=state, skip_if_finished=True)
    finally:
        study.sampler = kept


def attach(study: optuna.Study, frozen: FrozenTrial) -> Trial:
    """A trial asked earlier, maybe by a runner since killed, to report to, prune, or complete (ask and
    tell across processes: Optuna has no public way to name a trial's storage id but `_trial_id`)."""
    return Trial(study, frozen._trial_id)


def params(trial: Trial, space: Space) -> dict[str, Any]:
    """The trial's value of every key: the journal's, and for a key it lacks (its runner was killed
    inside `ask`), one sampled now (Optuna's suggest returns a value already suggested as it is)."""
    return {p.key: _suggest(trial, p) for p in space.params}


def _suggest(trial: Trial, param: Param) -> Any:
    if param.kind == CHOICES:
        return trial.suggest_categorical(param.key, list(param.choices))
    if param.kind == INT:
        return trial.suggest_int(param.key, int(param.low), int(param.high))
    return trial.suggest_float(param.key, param.low, param.high, log=param.log)


# ---- the trials as a table ----

def results(save_dir: Path, sweep: Sweep) -> list[TrialRow]:
    """Every trial of the sweep, ranked (`trials.rank`), each with its run's status and epochs."""
    study = optuna.load_study(study_name=sweep.name, storage=storage(save_dir, sweep.name))
    rows = [_row(save_dir, sweep, t) for t in study.get_trials(deepcopy=False)]
    return rank(rows, sweep.mode)


def _row(save_dir: Path, sweep: Sweep, frozen: FrozenTrial) -> TrialRow:
    name = trial_name(sweep.name, frozen.number)
    status, values = run_state(save_dir / name, sweep.metric)
    value = frozen.value
    if frozen.state == TrialState.RUNNING and values:
        value = max(v for _, v in values) if sweep.mode == "max" else min(v for _, v in values)
    return TrialRow(frozen.number, name, STATES.get(frozen.state, frozen.state.name.lower()), status, value,
                    len(frozen.intermediate_values) or len(values), dict(frozen.params),
                    str(frozen.user_attrs.get(WHY_ATTR, "")))


def run_state(run_dir: Path, metric: str) -> tuple[str, list[tuple[int, float]]]:
    """The run's status (empty when it has no directory) and its (epoch, objective) values."""
    record = read_json(run_dir / RUN_JSON)
    if record is None and not run_dir.exists():
        return "", []
    reader, summary = EventReader(run_dir / EVENTS_FILE), RunSummary()
    events = reader.read_new()
    summary.update(events)
    return run_status(summary, record, bad_lines=len(reader.bad_lines)), epoch_values(events, metric)


def importances(save_dir: Path, sweep: Sweep) -> dict[str, float]:
    """Each key's share of the objective's variance over the complete trials (Optuna's
    `get_param_importances`, fANOVA: it loads scikit-learn, so only a worker should ask); empty while
    fewer than two trials have completed or the space has one key."""
    study = optuna.load_study(study_name=sweep.name, storage=storage(save_dir, sweep.name))
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2 or len(sweep.space.params) < 2:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError):  # e.g. every complete trial has the same value
        return {}
