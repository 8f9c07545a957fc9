"""The pure rule under the sweep driver: what happens to one asked trial, given its run directory, in
every state a kill -9 of the runner can leave it; how a settled run is told; which value; when a stop
is sent again; how trials rank."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.queue.sweeps.trials import (
    COMPLETE,
    DROP,
    FAIL,
    FOLLOW,
    PRUNE,
    QUEUE,
    STOP,
    STOP_GRACE_S,
    WAIT,
    RunFacts,
    TrialRow,
    best,
    decide,
    epoch_values,
    final_value,
    rank,
    stop_due,
)
from tui.run.status import STATUSES

NO_DIR = RunFacts()
EMPTY_DIR = RunFacts(exists=True, empty=True)
FOREIGN = RunFacts(exists=True)


def ours(status: str) -> RunFacts:
    return RunFacts(exists=True, ours=True, status=status)


@pytest.mark.parametrize(("run", "recorded", "cancelled", "action"), [
    (NO_DIR, False, False, QUEUE),  # killed between ask and its run's mkdir: queued again, same params
    (EMPTY_DIR, False, False, QUEUE),  # killed between the mkdir and run.json: queued into it
    (EMPTY_DIR, True, False, QUEUE),
    (NO_DIR, True, False, FAIL),  # it was queued, and someone removed it
    (NO_DIR, False, True, FAIL),
    (FOREIGN, False, False, FAIL),  # the name is another run's
    (ours("queued"), False, False, WAIT),  # killed before its `run` attr: recorded at this step
    (ours("queued"), True, True, DROP),
    (ours("starting"), True, False, FOLLOW),
    (ours("running"), True, False, FOLLOW),
    (ours("pending"), True, False, FOLLOW),
    (ours("running"), True, True, STOP),
    (ours("finished"), True, False, COMPLETE),  # ended while no runner lived: told from its events
    (ours("pruned"), True, False, PRUNE),
    (ours("stopped"), True, True, PRUNE),
    (ours("failed"), True, False, FAIL),
    (ours("lost"), True, False, FAIL),
    (ours("cancelled"), True, False, FAIL),
    (ours("damaged"), True, False, FAIL),
])
def test_each_state_gets_one_step(run: RunFacts, recorded: bool, cancelled: bool, action: str) -> None:
    assert decide(run, recorded, cancelled).action == action


RUNS = st.builds(RunFacts, exists=st.booleans(), empty=st.booleans(), ours=st.booleans(),
                 status=st.sampled_from([None, *STATUSES]))


@given(RUNS, st.booleans(), st.booleans())
def test_never_a_duplicate_never_a_lost_trial(run: RunFacts, recorded: bool, cancelled: bool) -> None:
    """A trial whose run directory holds anything is never queued again (no duplicate run); one that
    was never queued is queued unless its sweep is cancelled (no lost trial); every step is one of
    the driver's."""
    step = decide(run, recorded, cancelled)
    if run.exists and not run.empty:
        assert step.action != QUEUE
    if not run.exists and not recorded:
        assert step.action == (FAIL if cancelled else QUEUE)
    if cancelled:
        assert step.action not in (QUEUE, WAIT, FOLLOW)
    assert step.action in (QUEUE, WAIT, FOLLOW, STOP, DROP, COMPLETE, PRUNE, FAIL)


def test_a_stop_is_sent_once_and_again_only_after_the_grace() -> None:
    assert stop_due(None, 1000.0, sent_here=False)
    assert not stop_due(None, 1000.0, sent_here=True)
    assert not stop_due(990.0, 1000.0, sent_here=False)  # an earlier runner sent it just now
    assert stop_due(1000.0 - STOP_GRACE_S - 1, 1000.0, sent_here=False)


def test_epoch_values_take_only_finite_objectives_of_epoch_events() -> None:
    events = [{"event": "start"}, {"event": "step", "epoch": 0, "metrics": {"val/acc": 0.9}},
              {"event": "epoch", "epoch": 0, "metrics": {"val/acc": 0.5}},
              {"event": "epoch", "epoch": 1, "metrics": {"train/loss": 0.1}},
              {"event": "epoch", "epoch": 2, "metrics": {"val/acc": math.nan}},
              {"event": "epoch", "epoch": 3, "metrics": {"val/acc": True}},
              {"event": "epoch", "epoch": "4", "metrics": {"val/acc": 0.7}},
              {"event": "epoch", "epoch": 5, "metrics": {"val/acc": 0.6}}]
    assert epoch_values(events, "val/acc") == [(0, 0.5), (5, 0.6)]


def test_a_finished_trial_is_told_its_best_epoch() -> None:
    values = [(0, 0.5), (1, 0.8), (2, 0.7)]
    assert final_value(values, "max") == 0.8 and final_value(values, "min") == 0.5
    assert final_value([], "max") is None


def row(number: int, state: str, value: float | None) -> TrialRow:
    return TrialRow(number, f"s-{number}", state, "", value, 1)


def test_trials_rank_complete_best_first_then_pruned_running_failed() -> None:
    rows = [row(0, "fail", None), row(1, "pruned", 0.9), row(2, "complete", 0.7), row(3, "running", 0.95),
            row(4, "complete", 0.8), row(5, "complete", None)]
    assert [r.number for r in rank(rows, "max")] == [4, 2, 5, 1, 3, 0]
    assert [r.number for r in rank(rows, "min")] == [2, 4, 5, 1, 3, 0]
    assert best(rank(rows, "max")) == rows[4]
    assert best([row(1, "pruned", 0.9)]) is None
