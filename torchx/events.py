"""The event log `events.jsonl`: schema, writer and incremental reader.

This module is the contract between the trainer and the TUI (see ARCHITECTURE.md), so it imports neither
torch nor textual. Writers append one JSON object per line; readers follow the file by byte offset,
hold a torn last line until its newline arrives, and report malformed lines instead of raising.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AnyStr

SCHEMA_VERSION = 1
EVENTS_FILE = "events.jsonl"
CHUNK_BYTES = 8 << 20
"""How much `EventReader.iter_new` reads at once: a long log's first read holds a few times this."""

# The event types torchx writes, with the fields each always carries (besides v, time, event).
# Readers must accept other types and fields: this is what writers promise, not what readers demand.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "start": (
        "name", "config", "argv", "pid", "create_time", "host", "world_size", "devices", "max_epochs",
        "steps_per_epoch", "resumed_from", "global_step", "versions", "entry",
    ),
    "step": ("epoch", "step", "metrics", "samples_per_s", "eta_s"),
    "epoch": ("epoch", "step", "metrics", "epoch_time_s", "eta_s"),
    "ckpt": ("path", "epoch", "step", "monitor", "value"),
    "end": ("status", "elapsed_s", "error", "reason"),
    "test": ("ckpt", "metrics"),
}


class EventWriter:
    """Appends events to one file; each line is flushed so a tailer sees it at once.

    Only global rank 0 constructs one: the caller decides, so this class stays free of torch.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file = open(self.path, "a", encoding="utf-8")

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {"v": SCHEMA_VERSION, "time": time.time(), "event": event, **fields}
        self._file.write(json.dumps(record, default=_json_fallback, allow_nan=True) + "\n")
        self._file.flush()
        return record

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _json_fallback(value: Any) -> Any:
    """Encode tensors, numpy scalars and paths without importing their libraries."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


_DECODER = json.JSONDecoder()
_STEP_MARK = '"event": "step"'  # as `EventWriter` writes it, after "v" and "time"
_MARK_WITHIN = 80


@dataclass
class BadLine:
    """A line the reader skipped, for reporting."""

    line_no: int
    reason: str


@dataclass
class EventReader:
    """Follows an events file incrementally: each `read_new` reads only bytes appended since the last.

    A truncated or replaced file (size below the offset) is read again from the start, with `reset`
    counting how often that happened.
    """

    path: str | os.PathLike[str]
    offset: int = 0
    line_no: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    resets: int = 0
    last_step_only: bool = False
    """Of each run of consecutive `step` events, parse and return only the last (unchecked lines are not
    reported as bad): for a reader that folds a summary, where a step event overwrites the one before;
    a million-step log then costs a scan, not a million parses. Relies on `EventWriter`'s key order."""
    _pending: bytes = b""

    def read_new(self, max_bytes: int | None = None) -> list[dict[str, Any]]:
        return self.parse_chunk(self._read(max_bytes))

    def iter_new(self, max_bytes: int = CHUNK_BYTES) -> Iterator[dict[str, Any]]:
        """Every event appended since the last read, read `max_bytes` at a time: a million-step log
        then costs a few times `max_bytes` of memory, not the whole file's bytes, text and lines."""
        while True:
            chunk = self._read(max_bytes)
            yield from self.parse_chunk(chunk) if chunk else ()
            if len(chunk) < max_bytes:  # the end of the file: no need to ask again
                return

    def _read(self, max_bytes: int | None) -> bytes:
        """The bytes after `offset`, at most `max_bytes` and at most what `stat` saw: `read(n)` first
        allocates all n bytes, and a small file must not cost an 8 MiB buffer."""
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return b""
        if size < self.offset:
            self.offset, self.line_no, self._pending, self.resets = 0, 0, b"", self.resets + 1
        if size == self.offset:
            return b""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read(min(max_bytes, size - self.offset) if max_bytes else -1)
        self.offset += len(chunk)
        return chunk

    def parse_chunk(self, chunk: bytes) -> list[dict[str, Any]]:
        """Parse appended bytes; the part after the last newline waits for the next chunk."""
        data = self._pending + chunk
        complete, sep, rest = data.rpartition(b"\n")
        if not sep:
            self._pending = data
            return []
        self._pending = rest
        try:  # one decode for the chunk (UTF-8 never splits a character at a newline byte)
            text = complete.decode("utf-8")
        except UnicodeDecodeError:  # decoded line by line: only the bad lines are lost
            return self._parse_lines(complete.split(b"\n"), _STEP_MARK.encode())
        return self._parse_lines(text.split("\n"), _STEP_MARK)

    def _parse_lines(self, lines: list[AnyStr], step_mark: AnyStr) -> list[dict[str, Any]]:
        """The events among complete `lines` (text, or bytes when the chunk is not valid UTF-8)."""
        events = []
        decode, line_no, last = _DECODER.raw_decode, self.line_no, len(lines) - 1
        skip_steps = self.last_step_only
        for i, line in enumerate(lines):
            line_no += 1
            if skip_steps and i < last and step_mark in line[:_MARK_WITHIN] \
                    and step_mark in lines[i + 1][:_MARK_WITHIN]:
                continue
            if isinstance(line, str):
                try:  # the common case inline: raw_decode skips json.loads' encoding sniffing and a call
                    obj, end = decode(line)
                    if end == len(line) and type(obj) is dict and type(obj.get("event")) is str \
                            and isinstance(obj.get("time"), (int, float)):
                        events.append(obj)
                        continue
                except (ValueError, TypeError, RecursionError):
                    pass
            event = self._parse_line(line, line_no)
            if event is not None:
                events.append(event)
        self.line_no = line_no
        return events

    def _parse_line(self, raw: str | bytes, line_no: int) -> dict[str, Any] | None:
        """The careful path: blank lines, surrounding whitespace, and why a line is skipped."""
        raw = raw.strip()
        if not raw:
            return None
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            obj, end = _DECODER.raw_decode(text)
            if end != len(text):
                raise json.JSONDecodeError("Extra data", text, end)
        except (ValueError, RecursionError) as exc:
            self.bad_lines.append(BadLine(line_no, f"not JSON ({exc.__class__.__name__})"))
            return None
        if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
            self.bad_lines.append(BadLine(line_no, "not an event object"))
            return None
        if not isinstance(obj.get("time"), (int, float)):
            self.bad_lines.append(BadLine(line_no, "event without a numeric time"))
            return None
        return obj

def read_events(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], list[BadLine]]:
    """Read a whole events file once: the complete events and the lines that were skipped."""
    reader = EventReader(path)
    events = reader.read_new()
    return events, reader.bad_lines
