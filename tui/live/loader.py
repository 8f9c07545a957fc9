"""Open a run's `events.jsonl` of any size fast, then follow it by byte offset.

A small file is read whole. A large one (a run with millions of steps) opens in well under a second:
the head (the `start` event), `probes` evenly spaced step lines from the middle (enough for the
downsampled plots) and the tail (the latest numbers) are read, and that view is shown at once. A
backfill then scans the middle in chunks, a little per `poll`, for the events that are not steps
(epochs, checkpoints, restarts) and, when done, swaps in a fold that has them all. Memory stays
bounded throughout: nothing but the folded `RunData` is kept. Only a regular file is opened, without
blocking (`torchx.reading`), and only events of the schema's types are folded (`events.event_problem`).
Torch- and Textual-free.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from torchx.events import MAX_LINE_BYTES, EventReader, event_problem
from torchx.reading import open_regular
from tui.live.data import RunData

FULL_READ_BYTES = 8 << 20
HEAD_BYTES = 2 * MAX_LINE_BYTES
"""Twice the longest line: a head without a newline is a first line over the cap, and says so."""
TAIL_BYTES = 1 << 20
CHUNK_BYTES = 8 << 20
PROBES = 1024
PROBE_BYTES = 4 << 10
STEP_MARK = b'"event": "step"'
OTHER_MARKS = (b'"event": "start"', b'"event": "epoch"', b'"event": "ckpt"', b'"event": "end"')


class RunLoader:
    """`data` is the current fold; `poll()` folds what was appended and advances the backfill."""

    def __init__(self, path: Path, capacity: int | None = None, backfill_budget_s: float = 0.05) -> None:
        self.path = path
        self._capacity = capacity
        self.backfill_budget_s = backfill_budget_s
        self.data = self._new_data()
        self.reader = EventReader(path)
        self.sparse = False
        self._backfill: Iterator[None] | None = None
        self._live: list[dict[str, Any]] = []
        self._sparse_readers: tuple[EventReader, ...] = ()
        """The readers of a large log's head and tail: their bad lines count too."""

    def _new_data(self) -> RunData:
        return RunData() if self._capacity is None else RunData(capacity=self._capacity)

    @property
    def backfilling(self) -> bool:
        return self._backfill is not None

    @property
    def bad_lines(self) -> int:
        return len(self.reader.bad_lines) + sum(len(r.bad_lines) for r in self._sparse_readers)

    @property
    def problem(self) -> str:
        """Why the log cannot be read, else its first bad line; empty when it reads well."""
        return self.reader.first_problem or next((r.first_problem for r in self._sparse_readers
                                                  if r.first_problem), "")

    def open(self) -> RunData:
        try:
            f = os.fdopen(open_regular(self.path), "rb")
        except OSError:  # missing, or no regular file: the reader's `problem` says which
            self.data.feed(self.reader.read_new())
            return self.data
        with f:
            size = os.fstat(f.fileno()).st_size
            if size > FULL_READ_BYTES:
                self._open_sparse(f, size)
                return self.data
        self.data.feed(self.reader.read_new())
        return self.data

    def _open_sparse(self, f: Any, size: int) -> None:
        self.sparse = True
        head, head_end = _complete_lines(f, 0, HEAD_BYTES)
        tail_start = _line_start(f, max(head_end, size - TAIL_BYTES))
        tail, tail_end = _complete_lines(f, tail_start, size - tail_start)
        probes = _probe_steps(f, head_end, tail_start, PROBES)
        if not head:  # no newline in the head: the first line is over the cap (a bad line)
            f.seek(0)
            head = f.read(HEAD_BYTES)
        self._sparse_readers = (EventReader(self.path), EventReader(self.path))
        head_events = self._sparse_readers[0].parse_chunk(head)
        tail_events = self._sparse_readers[1].parse_chunk(tail)
        self.data.feed(head_events + [e for _, e in probes] + tail_events)
        self.reader.offset = tail_end
        self._backfill = self._run_backfill(head_events, head_end, tail_start, probes, tail_events)

    def poll(self) -> bool:
        """Fold appended events and advance the backfill; True when `data` changed."""
        events = self.reader.read_new()
        self.data.feed(events)
        changed = bool(events)
        if self._backfill is not None:
            self._live += events
            deadline = time.monotonic() + self.backfill_budget_s
            while self._backfill is not None and time.monotonic() < deadline:
                try:
                    next(self._backfill)
                except StopIteration:
                    self._backfill, changed = None, True
        return changed

    def finish_backfill(self) -> None:
        """Run the backfill to its end now (bench and tests)."""
        while self._backfill is not None:
            self.poll()

    def _run_backfill(self, head: list[dict[str, Any]], start: int, end: int,
                      probes: list[tuple[int, dict[str, Any]]], tail: list[dict[str, Any]]) -> Iterator[None]:
        exact = self._new_data()
        exact.feed(head)
        parse = EventReader(self.path)
        pending = list(probes)
        try:
            f = os.fdopen(open_regular(self.path), "rb")
        except OSError:  # replaced since it was opened: the sampled view stays
            return
        with f:
            offset = start
            while offset < end:
                chunk_end = _line_start(f, min(end, offset + CHUNK_BYTES))
                f.seek(offset)
                chunk = f.read(chunk_end - offset)
                found: list[tuple[int, bytes | None]] = [
                    (offset + pos, line) for pos, line in _other_lines(chunk)]
                found += [(o, None) for o, _ in pending if o < chunk_end]
                for _pos, line in sorted(found, key=lambda item: item[0]):
                    if line is None:
                        exact.apply(pending.pop(0)[1])
                    else:
                        exact.feed(parse.parse_chunk(line + b"\n"))
                offset = chunk_end if chunk_end > offset else end
                yield
        exact.feed(tail)
        exact.feed(self._live)
        exact.version = self.data.version + 1
        self.data, self._live = exact, []


def _complete_lines(f: Any, start: int, length: int) -> tuple[bytes, int]:
    """The bytes from `start` up to the last newline within `length`, and where they end."""
    f.seek(start)
    data = f.read(length)
    cut = data.rfind(b"\n") + 1
    return data[:cut], start + cut


def _line_start(f: Any, offset: int) -> int:
    """The first line start at or after `offset`."""
    if offset <= 0:
        return 0
    f.seek(offset - 1)
    while True:
        block = f.read(PROBE_BYTES)
        if not block:
            return f.tell()
        newline = block.find(b"\n")
        if newline >= 0:
            return f.tell() - len(block) + newline + 1


def _probe_steps(f: Any, start: int, end: int, count: int) -> list[tuple[int, dict[str, Any]]]:
    """One parsed step line at each of `count` evenly spaced offsets in [start, end)."""
    found: dict[int, dict[str, Any]] = {}
    span = end - start
    for k in range(count if span > 0 else 0):
        f.seek(start + span * k // count)
        block = f.read(PROBE_BYTES)
        first = block.find(b"\n")
        second = block.find(b"\n", first + 1) if first >= 0 else -1
        if second < 0:
            continue
        line = block[first + 1:second]
        pos = start + span * k // count + first + 1
        if pos >= end or pos in found or STEP_MARK not in line:
            continue
        event = _parse(line)
        if event is not None and event.get("event") == "step":
            found[pos] = event
    return sorted(found.items())


def _other_lines(chunk: bytes) -> list[tuple[int, bytes]]:
    """(offset, line) of every line in `chunk` that is not a step event, found by byte search."""
    lines: dict[int, bytes] = {}
    for mark in OTHER_MARKS:
        i = chunk.find(mark)
        while i >= 0:
            lo = chunk.rfind(b"\n", 0, i) + 1
            hi = chunk.find(b"\n", i)
            hi = len(chunk) if hi < 0 else hi
            lines[lo] = chunk[lo:hi]
            i = chunk.find(mark, hi)
    return sorted(lines.items())


def _parse(line: bytes) -> dict[str, Any] | None:
    """A probed line's event, if it is one of the schema's types (a bad one is skipped: a sample)."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) and event_problem(obj) is None else None
