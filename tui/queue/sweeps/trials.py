"""What the runner does with one trial of a sweep, decided from what the journal and the trial's run
directory say now, and nothing the runner remembers: a runner started after a kill -9 takes the very
same steps as the one that died would have (the pure rule under `driver`, tested on its own).

A trial is asked (Optuna's journal: RUNNING, its params), then queued as the run `<sweep>-<n>` whose
`run.json` `queued` block names the sweep and the trial, then recorded (the trial's `run` user attr),
then launched by the queue, followed (each `epoch` reported), and told once its run has ended. A kill
-9 can fall between any two of these; each state it leaves gets one step (`decide`):

- asked, no run directory, never recorded: `QUEUE` it again with the trial's own params (they are in
  the journal; one the journal lacks, because the runner died inside `ask`, is sampled then). Queuing
  it again rather than failing it keeps a grid's point and the number of trials exact; the run's name
  is the trial's, taken by an atomic mkdir, so it can never be queued twice.
- its directory made but left empty (killed between the mkdir and `run.json`): `QUEUE` into it.
- recorded, and its directory gone: someone removed it (`K` on a queued trial): `FAIL`.
- its name taken by a run that is not this trial's: `FAIL`.
- queued: `WAIT`; launched and alive: `FOLLOW`; ended: told (`outcome`).
- the sweep cancelled: a trial not queued yet `FAIL`s, a queued one is `DROP`ped (taken out of the
  queue, to the trash) and fails, a live one is `STOP`ped (SIGINT, once: `stop_due`) and told when it
  ends.

Torch-, Textual- and Optuna-free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from torchx.events import is_finite_number
from tui.run.status import ACTIVE, IN_QUEUE, PRUNED

QUEUE, WAIT, FOLLOW, STOP, DROP = "queue", "wait", "follow", "stop", "drop"
COMPLETE, PRUNE, FAIL = "complete", "prune", "fail"
"""What a trial is told: its value, pruned, failed."""
STOP_GRACE_S = 120.0
"""A stop recorded in `run.json` by an earlier runner is sent again only after this long: the trainer
leaves within a few batches of its SIGINT, and a second SIGINT interrupts it hard (no `last.ckpt`)."""


@dataclass(frozen=True)
class RunFacts:
    """What a trial's run directory says."""

    exists: bool = False
    empty: bool = False
    """It exists and holds nothing: its queuing was cut between the mkdir and `run.json`."""
    ours: bool = False
    """Its `run.json` `queued` block names this sweep and this trial."""
    status: str | None = None
    """`tui.run.status.run_status` of it (None without a `run.json`)."""


@dataclass(frozen=True)
class Step:
    action: str
    why: str = ""


def decide(run: RunFacts, recorded: bool, cancelled: bool) -> Step:
    """The step for a trial the journal holds as RUNNING (asked, not told): `recorded` says its run was
    queued once (the trial's `run` user attr), `cancelled` that its sweep was."""
    if not run.exists or run.empty:
        if recorded and not run.exists:
            return Step(FAIL, "its run was removed")
        return Step(FAIL, "the sweep was cancelled before it ran") if cancelled else Step(QUEUE)
    if not run.ours:
        return Step(FAIL, "its run's name is taken by a run of no sweep")
    if run.status == IN_QUEUE:
        return Step(DROP, "the sweep was cancelled before it ran") if cancelled else Step(WAIT)
    if run.status in ACTIVE:
        return Step(STOP) if cancelled else Step(FOLLOW)
    return Step(outcome(run.status or "failed"), f"its run ended {run.status}")


def outcome(status: str) -> str:
    """How a trial whose run has settled is told. Finished: its value. Pruned by the sweep, or stopped
    by hand or by a cancel: pruned (it did not fail; the epochs it reported stay with the sampler and
    the pruner). Failed, lost, cancelled by Slurm, damaged: failed."""
    if status == "finished":
        return COMPLETE
    if status in (PRUNED, "stopped"):
        return PRUNE
    return FAIL


def stop_due(stopped_at: Any, now: float, sent_here: bool) -> bool:
    """Whether to SIGINT a live trial the sweep wants stopped: not if this runner has already; at once
    when no stop is recorded in its `run.json` (`stopped_at` None); after `STOP_GRACE_S` when an earlier
    runner recorded one (it was most likely sent, and the trainer is on its way out)."""
    if sent_here:
        return False
    if not isinstance(stopped_at, (int, float)) or isinstance(stopped_at, bool):
        return True
    return now - stopped_at > STOP_GRACE_S


def epoch_values(events: Iterable[dict[str, Any]], metric: str) -> list[tuple[int, float]]:
    """(epoch, objective) of each `epoch` event that reports `metric` as a finite number."""
    values = []
    for event in events:
        if event.get("event") != "epoch":
            continue
        epoch, metrics = event.get("epoch"), event.get("metrics")
        value = metrics.get(metric) if isinstance(metrics, dict) else None
        if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0 \
                and is_finite_number(value):
            values.append((epoch, float(value)))
    return values


def final_value(values: Iterable[tuple[int, float]], mode: str) -> float | None:
    """The value a finished trial is told: its best epoch's objective (`mode` min or max), not its last.
    The run's checkpoint callback keeps its best epoch (`save_top_k`, on `checkpoint.monitor`, the
    default objective), so the value ranks the model a user would take from that trial; a late epoch
    that got worse does not hide a good one. None when no epoch reported the objective."""
    numbers = [v for _, v in values]
    if not numbers:
        return None
    return max(numbers) if mode == "max" else min(numbers)


# ---- the trials as a table ----

@dataclass(frozen=True)
class TrialRow:
    """One trial as `sweep show` and the sweep view list it."""

    number: int
    run: str
    state: str
    """Optuna's: `complete`, `pruned`, `fail`, `running`."""
    status: str
    """Its run's (`tui.run.status`), empty when it has no run directory."""
    value: float | None
    """Complete: the value told; pruned: its last reported epoch's; running: its best epoch so far."""
    epochs: int
    """Epochs whose objective was reported."""
    params: dict[str, Any] = field(default_factory=dict)
    why: str = ""


_STATE_ORDER = {"complete": 0, "pruned": 1, "running": 2, "waiting": 2, "fail": 3}


def rank(rows: Iterable[TrialRow], mode: str) -> list[TrialRow]:
    """Complete trials best first, then pruned ones (by the value they were pruned at), then the ones
    still running (by their best epoch so far), then failed ones; ties by trial number."""
    sign = -1.0 if mode == "max" else 1.0

    def key(row: TrialRow) -> tuple[int, int, float, int]:
        value = row.value if row.value is not None and math.isfinite(row.value) else None
        return (_STATE_ORDER.get(row.state, 4), value is None, sign * value if value is not None else 0.0,
                row.number)

    return sorted(rows, key=key)


def best(rows: Iterable[TrialRow]) -> TrialRow | None:
    """The best complete trial of ranked rows (Optuna's `best_trial`: only complete trials count)."""
    return next((r for r in rows if r.state == "complete" and r.value is not None), None)
