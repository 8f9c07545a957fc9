"""`StartWatch`: a launch or resume from this TUI that dies before its `start` is said once, with its
error; a run that starts, an old row seen before the relaunch, and a launch long gone are not."""

from __future__ import annotations

import pytest

from tui.table.rows import RunRow
from tui.table.start_watch import WATCH_S, StartWatch


def seen(watch: StartWatch, *rows: RunRow, now: float = 0.0) -> list[str | None]:
    return [watch.update(row, now=now) for row in rows]


def test_a_launch_that_fails_before_its_start_is_said_once_with_its_error() -> None:
    watch = StartWatch()
    watch.expect("a", fresh=True, now=0.0)
    said = seen(watch, RunRow("a", "starting"), RunRow("a", "failed", error="no GPU 3 here"),
                RunRow("a", "failed", error="no GPU 3 here"))
    assert said == [None, "'a' did not start: no GPU 3 here", None]
    assert "a" not in watch


def test_a_launch_killed_before_its_start_is_said_so() -> None:
    watch = StartWatch()
    watch.expect("a", fresh=True, now=0.0)
    said = seen(watch, RunRow("a", "lost", error="lost before start: killed before the entry wrote anything"))
    assert said == ["'a' did not start: killed before the entry wrote anything"]


@pytest.mark.parametrize("status", ["running", "finished", "stopped"])
def test_a_run_that_started_ends_the_watch_silently(status: str) -> None:
    watch = StartWatch()
    watch.expect("a", fresh=True, now=0.0)
    assert seen(watch, RunRow("a", "starting"), RunRow("a", status), RunRow("a", "failed", error="x")) \
        == [None, None, None]


def test_a_resume_waits_past_the_row_of_before_it() -> None:
    """A scan that read the old `run.json` still shows the old failure: that is not the resume's."""
    watch = StartWatch()
    watch.expect("a", fresh=False, now=0.0)
    said = seen(watch, RunRow("a", "failed", error="old"), RunRow("a", "starting"),
                RunRow("a", "failed", error="new"))
    assert said == [None, None, "'a' did not start: new"]


def test_a_slurm_launch_waits_through_pending() -> None:
    watch = StartWatch()
    watch.expect("a", fresh=True, now=0.0)
    assert seen(watch, RunRow("a", "pending"), RunRow("a", "starting"), RunRow("a", "running")) == [None] * 3
    assert "a" not in watch


def test_other_runs_and_old_watches_are_not_said() -> None:
    watch = StartWatch()
    watch.expect("a", fresh=True, now=0.0)
    assert seen(watch, RunRow("b", "failed", error="x")) == [None]
    assert seen(watch, RunRow("a", "failed", error="x"), now=WATCH_S + 1) == [None]
    assert "a" not in watch
