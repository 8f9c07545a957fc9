"""Follow a text log (`log.txt`, `stdout.log`) by byte offset, keeping a bounded ring of lines.

Opening reads at most the last `start_bytes` of the file, so a huge log opens at once. A torn last
line waits for its newline; carriage returns (progress bars) keep only the text after the last one;
a truncated or replaced file is read again from its start. Only a regular file is opened, without
blocking (`torchx.reading`): anything else shows one line saying what it is. Torch- and Textual-free.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from torchx.reading import open_if_changed, reason

MAX_LINES = 5000
START_BYTES = 512 << 10
MAX_READ = 4 << 20
MAX_LINE = 4000


class LogTail:
    def __init__(self, path: Path, max_lines: int = MAX_LINES, start_bytes: int = START_BYTES) -> None:
        self.path, self.start_bytes = path, start_bytes
        self.lines: deque[str] = deque(maxlen=max_lines)
        self.offset: int | None = None
        self.bytes_read = 0
        self._pending = b""
        self._skip_partial = False
        self.problem = ""
        """Why the file cannot be read (shown once as a line of the log); empty when it can."""

    def poll(self) -> list[str]:
        """Lines completed since the last poll (also appended to `lines`)."""
        try:
            fd = open_if_changed(self.path, self.offset)
        except FileNotFoundError:
            return []
        except OSError as exc:
            return self._unreadable(f"[{self.path.name}: {reason(exc)}]")
        if fd is None:  # an idle tick: one stat
            return []
        try:
            data = self._read(fd)
        finally:
            os.close(fd)
        self.problem = ""
        return self._split(data) if data else []

    def _read(self, fd: int) -> bytes:
        size = os.fstat(fd).st_size
        if self.offset is None or size < self.offset:
            self._reset(size)
        assert self.offset is not None
        data = os.pread(fd, min(size - self.offset, MAX_READ), self.offset) if size > self.offset else b""
        self.offset += len(data)
        self.bytes_read += len(data)
        return data

    def _unreadable(self, line: str) -> list[str]:
        if line == self.problem:
            return []
        self.problem = line
        self.lines.append(line)
        return [line]

    def _reset(self, size: int) -> None:
        first = self.offset is None
        self.offset = max(0, size - self.start_bytes) if first else 0
        self._pending = b""
        self._skip_partial = first and self.offset > 0
        if not first:
            self.lines.append("[log truncated or replaced: reading it again from the start]")

    def _split(self, data: bytes) -> list[str]:
        data = self._pending + data
        complete, sep, rest = data.rpartition(b"\n")
        self._pending = rest[-MAX_LINE * 4:] if sep else data[-MAX_LINE * 4:]
        if not sep:
            return []
        raw = complete.split(b"\n")
        if self._skip_partial:
            raw, self._skip_partial = raw[1:], False
        lines = [_clean(r) for r in raw]
        self.lines.extend(lines)
        return lines


def _clean(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    if "\r" in text:
        parts = [p for p in text.split("\r") if p]
        text = parts[-1] if parts else ""
    text = text.replace("\t", "    ")
    return text if len(text) <= MAX_LINE else text[:MAX_LINE] + "…"


def find(lines: list[str], query: str, start: int, backwards: bool = False) -> int | None:
    """Index of the next line containing `query` (case-insensitive) after `start`, wrapping."""
    if not query or not lines:
        return None
    needle, n = query.lower(), len(lines)
    step = -1 if backwards else 1
    for k in range(1, n + 1):
        i = (start + step * k) % n
        if needle in lines[i].lower():
            return i
    return None
