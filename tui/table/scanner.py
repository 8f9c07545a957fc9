"""The runs in a save dir, followed incrementally: one tailer and one summary per run directory.

`RunsScanner.poll()` lists the save dir, reads only the bytes appended to each `events.jsonl` since the
last poll, and returns the rows whose displayed values changed. It imports neither Textual nor torch;
the app calls it from a worker thread.

One directory costs one row whatever it holds: a file that cannot be read makes the row `damaged` with
the reason (`RunRow.problem`), and even a reader's own bug (an exception) only damages that row, so
the scan goes on and the app never exits for a directory's sake.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchx.events import EVENTS_FILE, EventReader
from torchx.experiment import RUN_JSON, run_dir_names
from torchx.summary import RunSummary
from tui.run.files import (
    Meta,
    Scalar,
    config_name,
    first_launch_time,
    read_config_values,
    read_meta,
    read_run_json,
    startup_error,
    trial_of,
)
from tui.run.jobs import JobStates, run_job_state
from tui.run.status import DAMAGED, IN_QUEUE, SETTLED, queued_block, run_status, story_damage
from tui.table import row_cache
from tui.table.rows import RunRow, latest_val_metric, row_from_fields
from tui.text import error_text, gpus_text, wanted_text

if TYPE_CHECKING:
    from tui.table.fold_workers import WorkerFold

@dataclass
class RunTracker:
    """Follows one run directory: its event tailer, its folded summary and its cached `run.json`."""

    run_dir: str
    """Plain strings, not Paths: pathlib costs more than the stats on a 10,000-run scan."""
    reader: EventReader = field(init=False)
    summary: RunSummary = field(default_factory=RunSummary)
    run_json: dict[str, Any] | None = None
    key: row_cache.Key | None = None
    """The directory's sizes and mtimes (`row_cache.file_key`) when it was last read: equal now means
    unchanged, and the row cache stores it beside the row."""
    row: RunRow | None = None
    monitor: str | None = None
    """The checkpoint's monitored metric: the validation metric the table shows."""
    cfg: dict[str, Scalar] | None = None
    meta: Meta = field(default_factory=Meta)
    run_json_problem: str = ""
    """Why `run.json` exists but cannot be used (read again only when its mtime changes)."""
    _from_cache: bool = False

    def __post_init__(self) -> None:
        self.name = os.path.basename(self.run_dir)
        self._events_path = os.path.join(self.run_dir, EVENTS_FILE)
        self.reader = EventReader(self._events_path, last_step_only=True)

    def adopt(self, row: RunRow | None, key: row_cache.Key) -> None:
        """Start from a cached row of a settled run: no file is read until the directory changes."""
        if row is not None and row.status in SETTLED:
            self.row, self.key, self._from_cache = row, key, True
            self.reader.offset = key[1] or 0
            self.cfg, self.meta = row.cfg, Meta(row.note, row.tags, row.meta_error)

    def refresh(self, host: str, jobs: JobStates | None = None, with_config: bool = False) -> RunRow:
        """Read what is new; a settled run whose directory is unchanged costs five `stat` calls.
        `jobs` answers for Slurm runs (one `squeue` per scan); `with_config` reads config.yaml too.
        Never raises: whatever goes wrong becomes this row's `damaged` status and its reason."""
        try:
            return self._refresh(host, jobs, with_config)
        except Exception as exc:  # a bug met by one directory's contents costs that row, not the scan
            self._forget()  # what was folded may be half a story: the next refresh reads it all again
            problem = f"cannot read: {exc.__class__.__name__}: {exc}"
            self.row = RunRow(self.name, DAMAGED, problem=problem[:200])
            return self.row

    def _forget(self) -> None:
        self.reader = EventReader(self._events_path, last_step_only=True)
        self.summary, self.monitor, self.key, self._from_cache = RunSummary(), None, None, False
        self.run_json, self.run_json_problem = None, ""

    def _refresh(self, host: str, jobs: JobStates | None, with_config: bool) -> RunRow:
        key, old = row_cache.file_key(self.run_dir), self.key
        config_read = with_config and self._refresh_config(key, old)
        if self.row is not None and self.row.status in SETTLED and old is not None:
            same_story = key[1:4] == old[1:4]  # events.jsonl and run.json
            if same_story and key[0] == old[0] and key[5] == old[5]:
                self.key = key
                if config_read:
                    self.row = replace(self.row, cfg=self.cfg)
                return self.row
            if same_story and self._from_cache:
                # a note or tag edit (meta.yaml's replace touches the directory): no need to fold the log
                self._refresh_meta(key, old)
                self.key = key
                self.row = replace(self.row, cfg=self.cfg, tags=self.meta.tags, note=self.meta.note,
                                   meta_error=self.meta.error)
                return self.row
        if self._from_cache:  # the cached row is stale: fold the whole story once, from scratch
            self._from_cache, old = False, None  # the cache gave run.json's mtime, never its contents
            self.reader = EventReader(self._events_path, last_step_only=True)
            self.summary, self.monitor = RunSummary(), None
        if old is None or key[3] != old[3]:
            self.run_json, self.run_json_problem = read_run_json(os.path.join(self.run_dir, RUN_JSON)) \
                if key[3] is not None else (None, "")
        self._refresh_meta(key, old)
        self.key = key
        for event in self.reader.iter_new():
            self.summary.apply(event)
            if event.get("event") == "ckpt" and isinstance(event.get("monitor"), str):
                self.monitor = event["monitor"]
        self.row = self._make_row(host, jobs or JobStates(), key)
        return self.row

    def _refresh_config(self, key: row_cache.Key, old: row_cache.Key | None) -> bool:
        """Read config.yaml when its mtime changed (or it was never read); True when it was read."""
        if self.cfg is not None and old is not None and key[4] == old[4]:
            return False
        self.cfg = read_config_values(self.run_dir) if key[4] is not None else {}
        return True

    def _refresh_meta(self, key: row_cache.Key, old: row_cache.Key | None) -> None:
        """meta.yaml, read again only when its mtime changes."""
        if old is None or key[5] != old[5]:
            self.meta = read_meta(self.run_dir) if key[5] is not None else Meta()

    def _make_row(self, host: str, jobs: JobStates, key: row_cache.Key) -> RunRow:
        s, rj = self.summary, self.run_json
        bad = len(self.reader.bad_lines)
        damage = story_damage(self.run_dir, s, rj, self.reader.problem, self.run_json_problem)
        status = run_status(s, rj, host, run_job_state(rj, jobs), bad, damaged=bool(damage),
                            startup_error=lambda: startup_error(self.run_dir, rj))
        problem = damage or self.reader.first_problem
        if s.starts == 0 and rj is None:  # not a run, or a damaged one: no start time, listed last
            return RunRow(self.name, status, bad_lines=bad, tags=self.meta.tags, note=self.meta.note,
                          meta_error=self.meta.error, problem=problem)
        queued = queued_block(rj) if s.starts == 0 and status != DAMAGED else None
        if queued is not None:
            return self._queued_row(status, queued, key, bad, problem)
        return RunRow(
            name=self.name,
            status=status,
            config=config_name(s.config, rj),
            epoch=s.epochs_done if s.starts else None,
            max_epochs=s.max_epochs,
            eta_s=s.eta_s if status == "running" else None,
            metric=latest_val_metric(s.metrics, self.monitor),
            gpus=gpus_text(rj, s.devices),
            started=first_launch_time(rj) or s.first_start_time or (key[0] or 0) / 1e9 or None,
            elapsed_s=s.elapsed_s,
            running_since=s.last_time if status == "running" else None,
            bad_lines=bad,
            error=_why_it_ended(status, s, self.run_dir, rj),
            metrics=dict(s.metrics),
            cfg=self.cfg,
            tags=self.meta.tags,
            note=self.meta.note,
            meta_error=self.meta.error,
            problem=problem,
            sweep=(trial_of(rj) or ('',))[0],
        )

    def _queued_row(self, status: str, block: dict[str, Any], key: row_cache.Key, bad: int,
                    problem: str) -> RunRow:
        """A run waiting in the queue (or that its runner could not launch: `failed`, with why): the
        config and devices it asks for, queued since `queued_at`; its place is the scanner's to give."""
        raw = block.get("request")
        request: dict[str, Any] = raw if isinstance(raw, dict) else {}
        waiting = status == IN_QUEUE
        return RunRow(
            name=self.name, status=status, config=config_name(request.get("config"), None),
            gpus=wanted_text(request), bad_lines=bad, cfg=self.cfg, tags=self.meta.tags,
            started=_number(block.get("queued_at")) or (key[0] or 0) / 1e9 or None,
            error="" if waiting else str(block.get("error") or "")[:500],
            note=self.meta.note, meta_error=self.meta.error, problem=problem,
            queue_place=self.row.queue_place if waiting and self.row is not None else None,
            sweep=(trial_of(self.run_json) or ('',))[0])

    def queue_order(self) -> tuple[float, float, str]:
        """Where it stands in the queue, as the runner orders it: position, then queued_at, then name."""
        block = queued_block(self.run_json) or {}
        position, at = _number(block.get("position")), _number(block.get("queued_at"))
        return (float("inf") if position is None else position, float("inf") if at is None else at, self.name)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class _Batch:
    """The rows `RunsScanner.poll_batches` gathers: due first after `first_s`, then after four times
    as long each time."""

    def __init__(self, first_s: float, removed: list[str]) -> None:
        self.changed: list[RunRow] = []
        self.removed = removed
        self._wait = first_s
        self._due = time.monotonic() + first_s

    def due(self) -> bool:
        return bool(self.changed) and time.monotonic() >= self._due

    def take(self) -> tuple[list[RunRow], list[str]]:
        taken = (self.changed, self.removed)
        self.changed, self.removed = [], []
        self._wait *= 4
        self._due = time.monotonic() + self._wait
        return taken


class RunsScanner:
    """Every run directory in a save dir, refreshed incrementally on each `poll`.

    Active runs are read on every poll; settled ones (finished, failed, stopped, lost) in turns of
    `settled_per_poll`, so a save dir of 10,000 runs costs about as much per poll as one of 500. With a
    `cache_dir`, settled rows are remembered between sessions (`tui.table.row_cache`).
    """

    def __init__(self, save_dir: str | os.PathLike[str], host: str | None = None,
                 cache_dir: Path | None = None, settled_per_poll: int = 500) -> None:
        self.save_dir = Path(save_dir)
        self.host = host or socket.gethostname()
        self.trackers: dict[str, RunTracker] = {}
        self.settled_per_poll = settled_per_poll
        self._listing: tuple[int, list[str]] | None = None
        self._dir = str(self.save_dir)
        self._polls = 0
        self._cache_path = row_cache.cache_file(cache_dir, self.save_dir) if cache_dir else None
        self._cached: dict[str, tuple[row_cache.Key, dict[str, Any]]] | None = None
        """The row cache's entries not yet adopted; loaded by the first poll, in the scan thread (a
        10,000-row cache takes ~0.1 s to parse: not on the UI thread before the first paint)."""
        self._cache_dirty = False
        self._due: set[str] = set()
        self.with_config = False
        """Whether rows carry their flattened config.yaml (a 10,000-run first read costs seconds)."""
        self._fold: WorkerFold | None = None
        self._stopped = False
        self._queued: set[str] = set()
        """The runs whose row is `queued`: numbered after each poll (`RunRow.queue_place`)."""

    def want_config(self) -> None:
        """From now on rows carry their config (a filter over `cfg.` keys); every run is read on the
        next poll. Safe from the UI thread."""
        if not self.with_config:
            self.with_config = True
            self._due.update(self.trackers)

    def stop(self) -> None:
        """The app is quitting: end a poll in progress at its next run and kill its fold workers (the
        interpreter waits for the scan thread at exit). Safe from the UI thread."""
        self._stopped = True
        fold = self._fold
        if fold is not None:
            fold.kill()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def refresh_soon(self, name: str) -> None:
        """Read `name` on the next poll even when it is not a settled run's turn (after an edit);
        safe from the UI thread (a set's add and discard are atomic)."""
        self._due.add(name)

    def poll(self) -> tuple[list[RunRow], list[str]]:
        """(rows that are new or changed since the last poll, names of directories that vanished)."""
        changed: list[RunRow] = []
        removed: list[str] = []
        for batch_changed, batch_removed in self.poll_batches():
            changed += batch_changed
            removed += batch_removed
        self.save_cache()
        return changed, removed

    def poll_batches(self, first_s: float = 0.5) -> Iterator[tuple[list[RunRow], list[str]]]:
        """`poll` in pieces: the first after `first_s` seconds of scanning, each later one after four
        times as long, so a long first fill shows rows early yet re-sorts the table only a few times."""
        if self._stopped:
            return
        if self._cached is None:
            self._cached = row_cache.load(self._cache_path) if self._cache_path else {}
        names = self._list()
        seen = set(names)
        removed = [name for name in self.trackers if name not in seen]
        for name in removed:
            del self.trackers[name]
            self._queued.discard(name)
        settled = sum(1 for t in self.trackers.values() if t.row is not None and t.row.status in SETTLED)
        period = max(1, -(-settled // max(1, self.settled_per_poll)))
        turn, self._polls = self._polls % period, self._polls + 1
        new = {name for name in names if name not in self.trackers}
        fold = self._fold = self._start_workers(new)  # they read while the trackers are built
        try:
            for name in new:
                self.trackers[name] = self._new_tracker(name)
            batch = _Batch(first_s, removed)
            folded = yield from self._adopt_folded(fold, new, batch)
        finally:
            fold.close()
            self._fold = None
        jobs = JobStates()  # asked at most once per poll, and only when a Slurm run is refreshed
        for i, name in enumerate(names):
            tracker = self.trackers[name]
            if self._stopped:
                return
            if name in folded:
                continue
            if name in new:
                before = None
            elif (tracker.row is not None and tracker.row.status in SETTLED and i % period != turn
                  and name not in self._due):
                continue
            else:
                before = tracker.row
                self._due.discard(name)
            cached = tracker.row if tracker._from_cache and before is None else None
            if cached is not None and (not self.with_config or cached.cfg is not None):
                row = cached  # as the cache holds it: nothing to read or save
            else:
                row = tracker.refresh(self.host, jobs, self.with_config)
                # the cache holds settled rows only: a training run's progress need not rewrite it
                self._cache_dirty = self._cache_dirty or (row != before and row.status in SETTLED)
            if row.status == IN_QUEUE:
                self._queued.add(name)
            else:
                self._queued.discard(name)
            if row != before:
                batch.changed.append(row)
            if batch.due():
                yield batch.take()
        self._place_queue(batch)
        yield batch.take()

    @property
    def queued_count(self) -> int:
        """How many runs the last poll found waiting in the queue."""
        return len(self._queued)

    def _place_queue(self, batch: _Batch) -> None:
        """Number the queued rows 1, 2, … in the runner's order (a launch or a move elsewhere changes a
        row's place without touching its files); the rows whose place changed join `batch`."""
        ordered = sorted((self.trackers[name] for name in self._queued), key=RunTracker.queue_order)
        placed: dict[str, RunRow] = {}
        for place, tracker in enumerate(ordered, start=1):
            if tracker.row is not None and tracker.row.queue_place != place:
                tracker.row = placed[tracker.name] = replace(tracker.row, queue_place=place)
        if placed:
            batch.changed = [row for row in batch.changed if row.name not in placed] + list(placed.values())

    def _start_workers(self, new: set[str]) -> WorkerFold:
        """`tui.table.fold_workers` for the runs this poll must read from scratch, when there are many: the
        new ones the row cache has never seen, and after `want_config` the settled rows without a
        config. (Too few: a `WorkerFold` without workers.)"""
        cached = self._cached or {}
        unread = [name for name in new if name not in cached]
        if self.with_config:
            unread += [name for name, t in self.trackers.items()
                       if name in self._due and t.row is not None and t.row.status in SETTLED
                       and t.row.cfg is None]
        from tui.table.fold_workers import WorkerFold  # first poll, in the worker: off the start-up path

        return WorkerFold([os.path.join(self._dir, name) for name in unread], self.host, self.with_config)

    def _adopt_folded(self, fold: WorkerFold, new: set[str], batch: _Batch) -> Generator[
            tuple[list[RunRow], list[str]], None, set[str]]:
        """Adopt the workers' rows as if cached, yielding them in batches; returns their names."""
        folded = set()
        for entries in fold:
            for name, key, row in entries:
                tracker = self.trackers.get(name)
                if tracker is None:
                    continue
                before = None if name in new else tracker.row
                tracker.adopt(row, key)
                folded.add(name)
                self._due.discard(name)
                self._cache_dirty = True
                if row != before:
                    batch.changed.append(row)
            if batch.due():
                yield batch.take()
        return folded

    def _list(self) -> list[str]:
        """The save dir's subdirectory names, listed again only when the save dir's mtime changes."""
        try:
            mtime = os.stat(self._dir).st_mtime_ns
        except OSError:
            return []
        if self._listing is None or self._listing[0] != mtime:
            self._listing = (mtime, run_dir_names(self._dir))
        return self._listing[1]

    def _new_tracker(self, name: str) -> RunTracker:
        tracker = RunTracker(os.path.join(self._dir, name))
        cached = self._cached.pop(name, None) if self._cached else None
        if cached is not None and row_cache.file_key(tracker.run_dir) == cached[0]:
            tracker.adopt(row_from_fields(cached[1]), cached[0])
        return tracker

    def save_cache(self) -> None:
        """Write the settled rows to the row cache if one changed since the last save (a 10,000-row
        cache takes a while: the app calls this once the table is filled, not during the fill)."""
        if self._cache_path is None or not self._cache_dirty:
            return
        self._cache_dirty = False
        rows = {name: (t.key, t.row) for name, t in self.trackers.items()
                if t.row is not None and t.row.status in SETTLED and t.key is not None}
        row_cache.save(self._cache_path, rows)

    def rows(self) -> list[RunRow]:
        """Every known row, newest first."""
        rows = [t.row for t in self.trackers.values() if t.row is not None]
        return sorted(rows, key=lambda r: r.sort_key)


LOST_BEFORE_START = "lost before start"


def _why_it_ended(status: str, summary: RunSummary, run_dir: str, run_json: dict[str, Any] | None) -> str:
    """The row's error: the `end` event's, or for a launch that never wrote its `start`, what its child
    said before it died (`lost`: it was killed before it could say anything)."""
    if summary.starts or status not in ("failed", "lost"):
        return error_text(summary.error)
    return startup_error(run_dir, run_json) or f"{LOST_BEFORE_START}: killed before the entry wrote anything"
