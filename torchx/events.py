"""The event log `events.jsonl`: schema, writer and incremental reader.

This module is the contract between the trainer and the TUI (see ARCHITECTURE.md), so it imports neither
torch nor textual. Writers append one JSON object per line; readers follow the file by byte offset,
hold a torn last line until its newline arrives, and report malformed lines instead of raising.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AnyStr, TypeGuard

from torchx.reading import open_if_changed, reason

SCHEMA_VERSION = 1
EVENTS_FILE = "events.jsonl"
CHUNK_BYTES = 8 << 20
"""How much `EventReader.iter_new` reads at once: a long log's first read holds a few times this."""

MAX_LINE_BYTES = 1 << 20
"""The longest line a reader accepts (a `start` with its whole config takes a few KiB): a longer one is
a bad line, and a torn last line is not held beyond this, so a log without newlines costs no memory."""

_NONE = type(None)
Types = frozenset[type]
TEXT: Types = frozenset({str, _NONE})
INT: Types = frozenset({int, _NONE})
NUMBER: Types = frozenset({int, float, _NONE})
LIST: Types = frozenset({list, _NONE})
OBJECT: Types = frozenset({dict, _NONE})
DEVICES: Types = frozenset({str, int, list, _NONE})
"""A field's allowed types, checked exactly (`type(value) in types`: JSON makes no subclasses, and
`true` is no integer); every field may be null or absent."""
Schema = tuple[tuple[str, Types], ...]
_TIME: Types = frozenset({int, float})
_TYPE_NAMES = {str: "text", int: "an integer", float: "a number", list: "a list", dict: "an object",
               bool: "true/false", _NONE: "null"}
_EXPECTED = {NUMBER: "a number", DEVICES: "text, an integer or a list"}

# The event types torchx writes, with the fields each always carries (besides v, time, event) and their
# types. Readers accept other types and fields but check these: a line with a field of the wrong type
# is a bad line, so whatever a reader folds has the types this table says.
EVENT_SCHEMA: dict[str, Schema] = {
    "start": (
        ("name", TEXT), ("config", TEXT), ("argv", LIST), ("pid", INT), ("create_time", NUMBER),
        ("boot_time", NUMBER), ("host", TEXT), ("world_size", INT), ("devices", DEVICES), ("max_epochs", INT),
        ("steps_per_epoch", INT), ("resumed_from", TEXT), ("global_step", INT), ("versions", OBJECT),
        ("entry", TEXT),
    ),
    "step": (("epoch", INT), ("step", INT), ("metrics", OBJECT), ("samples_per_s", NUMBER),
             ("eta_s", NUMBER)),
    "epoch": (("epoch", INT), ("step", INT), ("metrics", OBJECT), ("epoch_time_s", NUMBER),
              ("eta_s", NUMBER)),
    "ckpt": (("path", TEXT), ("epoch", INT), ("step", INT), ("monitor", TEXT), ("value", NUMBER)),
    "end": (("status", TEXT), ("elapsed_s", NUMBER), ("error", OBJECT), ("reason", TEXT)),
    "test": (("ckpt", TEXT), ("metrics", OBJECT)),
}
EVENT_FIELDS: dict[str, tuple[str, ...]] = {kind: tuple(name for name, _ in schema)
                                            for kind, schema in EVENT_SCHEMA.items()}
"""What writers promise for each event type (not what readers demand)."""
END_STATUSES = frozenset({"finished", "failed", "stopped"})


def is_number(value: Any) -> TypeGuard[int | float]:
    """An int or a float, never a bool (JSON's numbers as readers of events and `run.json` take them)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    """`is_number`, and neither infinite nor NaN (which JSON written with `allow_nan` may hold)."""
    return is_number(value) and math.isfinite(value)


def field_problem(record: dict[str, Any], schema: Schema) -> str | None:
    """The first field of `record` of a type `schema` does not allow (`max_epochs: expected an
    integer, got text`); None when every field fits."""
    get = record.get
    for key, types in schema:
        if type(get(key)) not in types:
            return f"{key}: expected {_expected(types)}, got {_type_name(get(key))}"
    return None


def event_problem(event: dict[str, Any]) -> str | None:
    """Why a decoded event object cannot be folded (`end.status: expected text, got an integer`); None
    when it can. An event type this module does not know is no problem."""
    kind = event.get("event")
    if type(kind) is not str:
        return "not an event object"
    if type(event.get("time")) not in _TIME:
        return "event without a numeric time"
    schema = EVENT_SCHEMA.get(kind)
    problem = None if schema is None else field_problem(event, schema)
    if problem is None and kind == "end" and event.get("status") not in END_STATUSES:
        problem = f"status: expected {' or '.join(sorted(END_STATUSES))}, got {event.get('status')!r:.40}"
    return None if problem is None else f"{kind}.{problem}"


def _expected(types: Types) -> str:
    return _EXPECTED.get(types) or " or ".join(sorted(_TYPE_NAMES.get(t, t.__name__) for t in types
                                                      if t is not _NONE))


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class EventWriter:
    """Appends events to one file, a whole line at a time, each at once (a tailer sees it).

    A line whose write fails (a full disk) is taken back (`append_whole`), so the writer never leaves
    half a line; a log that already ends in one (a writer killed mid-line) first gets a newline, so
    the fragment stays one bad line instead of swallowing the next event. Only global rank 0
    constructs one: the caller decides, so this class stays free of torch.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        self.closed = False
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            append_whole(self._fd, b"\n")

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {"v": SCHEMA_VERSION, "time": time.time(), "event": event, **fields}
        if self.closed:
            raise ValueError(f"{self.path}: write to a closed EventWriter")
        line = json.dumps(record, default=_json_fallback, allow_nan=True) + "\n"
        append_whole(self._fd, line.encode("utf-8"))
        return record

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)


def append_whole(fd: int, data: bytes) -> None:
    """Append all of `data` to the file `fd` (opened with O_APPEND, by one writer) or none of it: after a
    failed write, the bytes that did land are cut off again before the error is raised."""
    size = os.fstat(fd).st_size
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        if len(view) < len(data):
            os.ftruncate(fd, size)
        raise


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
_TOO_LONG = f"longer than {MAX_LINE_BYTES:,} bytes"


@dataclass
class BadLine:
    """A line the reader skipped, for reporting."""

    line_no: int
    reason: str


@dataclass
class EventReader:
    """Follows an events file incrementally: each `read_new` reads only bytes appended since the last.

    A truncated or replaced file (size below the offset) is read again from the start, with `reset`
    counting how often that happened. Only a regular file is opened, without blocking (`torchx.reading`):
    a FIFO, a directory or a device reads as nothing, with `problem` saying why.
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
    problem: str = ""
    """Why the file cannot be read as it is now (`events.jsonl: not a regular file (a FIFO)`); empty
    when it can, or when it does not exist."""
    _pending: bytes = b""
    _overlong: bool = False
    """The torn line was longer than `MAX_LINE_BYTES`: its rest, up to its newline, is dropped."""

    @property
    def first_problem(self) -> str:
        """`problem`, else the first bad line (`events.jsonl line 3: end.status: expected text, got an
        integer`); empty when the file reads well."""
        if self.problem or not self.bad_lines:
            return self.problem
        return f"{os.path.basename(self.path)} line {self.bad_lines[0].line_no}: {self.bad_lines[0].reason}"

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
        """The bytes after `offset`, at most `max_bytes` and at most what `fstat` saw: `read(n)` first
        allocates all n bytes, and a small file must not cost an 8 MiB buffer. An idle tick (a regular
        file of the size already read) costs one `stat` and opens nothing."""
        try:
            fd = open_if_changed(self.path, self.offset)
        except FileNotFoundError:
            fd = None
        except OSError as exc:
            self.problem = f"{os.path.basename(self.path)}: {reason(exc)}"
            return b""
        self.problem = ""
        if fd is None:
            return b""
        try:
            size = os.fstat(fd).st_size
            if size < self.offset:
                self.offset, self.line_no, self._pending, self.resets = 0, 0, b"", self.resets + 1
                self._overlong = False
            want = size - self.offset if max_bytes is None else min(max_bytes, size - self.offset)
            chunk = os.pread(fd, want, self.offset) if want > 0 else b""
        finally:
            os.close(fd)
        self.offset += len(chunk)
        return chunk

    def parse_chunk(self, chunk: bytes) -> list[dict[str, Any]]:
        """Parse appended bytes; the part after the last newline waits for the next chunk (a bad line
        once it is longer than `MAX_LINE_BYTES`)."""
        if self._overlong:
            end = chunk.find(b"\n")
            if end < 0:
                return []
            chunk, self._overlong = chunk[end + 1:], False
        complete, sep, self._pending = (self._pending + chunk).rpartition(b"\n")
        events = self._parse_complete(complete) if sep else []
        if len(self._pending) > MAX_LINE_BYTES:  # counted now, dropped up to its newline
            self.line_no += 1
            self.bad_lines.append(BadLine(self.line_no, _TOO_LONG))
            self._pending, self._overlong = b"", True
        return events

    def _parse_complete(self, complete: bytes) -> list[dict[str, Any]]:
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
                    if end == len(line) <= MAX_LINE_BYTES and type(obj) is dict \
                            and event_problem(obj) is None:
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
        if len(raw) > MAX_LINE_BYTES:
            self.bad_lines.append(BadLine(line_no, _TOO_LONG))
            return None
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            obj, end = _DECODER.raw_decode(text)
            if end != len(text):
                raise json.JSONDecodeError("Extra data", text, end)
        except (ValueError, RecursionError) as exc:
            self.bad_lines.append(BadLine(line_no, f"not JSON ({exc.__class__.__name__})"))
            return None
        problem = event_problem(obj) if isinstance(obj, dict) else "not an event object"
        if problem is not None:
            self.bad_lines.append(BadLine(line_no, problem))
            return None
        return obj


def read_events(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], list[BadLine]]:
    """Read a whole events file once: the complete events and the lines that were skipped."""
    reader = EventReader(path)
    events = reader.read_new()
    return events, reader.bad_lines
