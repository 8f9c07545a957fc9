"""What tests/framework/test_events.py does not cover: the view's tailers never re-read from the start
on a tick, follow another process's torn writes, and survive any bytes (Hypothesis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from torchx import reading
from torchx.events import EventReader
from tui.live.loader import RunLoader
from tui.live.logtail import LogTail

WRITER = r"""
import json, sys, time
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "ab", buffering=0) as f:
    for i in range(n):
        line = json.dumps({"v": 1, "time": 1.0 + i, "event": "step", "step": i, "epoch": 0,
                           "metrics": {"train/loss": 1.0 / (i + 1)}}).encode() + b"\n"
        if i % 50 == 7:
            f.write(b"{broken json\n")
        cut = len(line) // 2
        f.write(line[:cut])      # a torn line: the reader must wait for the rest
        time.sleep(0.001)
        f.write(line[cut:])
"""


def test_loader_follows_another_process_reading_each_byte_once(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.touch()
    loader = RunLoader(path)
    loader.open()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "400"])
    offsets, ticks = [], 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = proc.poll() is not None
        before = loader.reader.offset
        loader.poll()
        ticks += 1
        assert loader.reader.offset >= before  # never back to the start
        offsets.append(loader.reader.offset)
        if done:
            break
    loader.poll()
    series = loader.data.series["train/loss"]
    assert series.count == 400 and series.latest is not None and series.latest.x == 399
    assert loader.reader.offset == os.path.getsize(path) and loader.reader.resets == 0
    bad = loader.reader.bad_lines
    assert len(bad) == 8 and all(b.reason.startswith("not JSON") for b in bad)
    assert ticks > 3 and offsets == sorted(offsets)


def test_a_tick_reads_only_the_appended_bytes(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({"v": 1, "time": 1.0, "event": "step", "step": i}) + "\n"
                            for i in range(1000)))
    reader = EventReader(path)
    reads: list[tuple[int, int]] = []
    opened: list[object] = []
    real_pread, real_open_regular = os.pread, reading.open_regular
    monkeypatch.setattr(reading, "open_regular", lambda p: opened.append(p) or real_open_regular(p))
    monkeypatch.setattr(os, "pread", lambda fd, n, at: reads.append((at, n)) or real_pread(fd, n, at))
    size = path.stat().st_size
    assert len(reader.read_new()) == 1000 and reads == [(0, size)]
    reads.clear()
    opened.clear()
    for _ in range(5):
        assert reader.read_new() == []  # an idle tick opens nothing
    assert reads == [] and opened == []
    with open(path, "a") as f:
        f.write(json.dumps({"v": 1, "time": 2.0, "event": "end", "status": "finished"}) + "\n")
    assert [e["event"] for e in reader.read_new()] == ["end"]
    assert reads == [(size, path.stat().st_size - size)]  # from the old end, just the new line


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=80), max_size=10))
def test_tailers_survive_any_bytes(tmp_path_factory, chunks: list[bytes]) -> None:
    directory = tmp_path_factory.mktemp("any")
    events, log = directory / "events.jsonl", directory / "log.txt"
    loader, tail = RunLoader(events), LogTail(log)
    loader.open()
    for chunk in chunks:
        for path in (events, log):
            with open(path, "ab") as f:
                f.write(chunk)
        loader.poll()
        tail.poll()
    assert loader.reader.offset == events.stat().st_size if chunks else True
    assert all(isinstance(line, str) for line in tail.lines)
    loader.data.metric_rows()
