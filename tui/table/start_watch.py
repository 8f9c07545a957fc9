"""Launches and resumes from this TUI, followed until their run starts: one that dies before its `start`
is said in a notification with its error, where the row alone would change status unseen.

A watch begins when the launch or resume returns and ends at the first status after `starting` (or
`pending`, Slurm's queue) that is neither: a failure then is one the user must hear about; anything
else means the run started. A row still showing the status it had before the relaunch (a scan that
read the old `run.json`) is not mistaken for the answer: the watch waits until it has seen the run
starting, except for a new run, which had no row before. Watches are dropped after `WATCH_S`.
Torch- and Textual-free.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tui.table.rows import RunRow
from tui.table.scanner import LOST_BEFORE_START

WATCH_S = 600.0
"""How long a launch is followed: longer than any entry's start, even a Slurm job's wait in the queue."""
STARTING = frozenset({"starting", "pending"})
FAILED = frozenset({"failed", "lost"})


@dataclass
class _Watch:
    since: float
    fresh: bool
    seen_starting: bool = False


class StartWatch:
    def __init__(self) -> None:
        self._watches: dict[str, _Watch] = {}

    def expect(self, name: str, fresh: bool, now: float | None = None) -> None:
        """Follow `name`, launched (`fresh`: a new directory) or resumed just now."""
        self._watches[name] = _Watch(time.monotonic() if now is None else now, fresh)

    def __contains__(self, name: str) -> bool:
        return name in self._watches

    def update(self, row: RunRow, now: float | None = None) -> str | None:
        """The notification to show for this row of a followed run, if its launch has failed."""
        watch = self._watches.get(row.name)
        if watch is None:
            return None
        if (time.monotonic() if now is None else now) - watch.since > WATCH_S:
            del self._watches[row.name]
            return None
        if row.status in STARTING:
            watch.seen_starting = True
            return None
        if row.status in FAILED and not (watch.seen_starting or watch.fresh):
            return None  # still the row of before the resume
        del self._watches[row.name]
        if row.status not in FAILED:
            return None
        why = row.error.removeprefix(f"{LOST_BEFORE_START}: ") or row.problem or "its process ended"
        return f"'{row.name}' did not start: {why}"
