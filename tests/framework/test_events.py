from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchx.events import EventReader, EventWriter, read_events
from torchx.summary import RunSummary


def test_reader_is_incremental_and_holds_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    writer.write("start", name="a", max_epochs=2)
    reader = EventReader(path)
    assert [e["event"] for e in reader.read_new()] == ["start"]
    first_offset = reader.offset
    with open(path, "a") as f:
        f.write('{"v": 1, "time": 2.0, "event": "epo')
    assert reader.read_new() == []
    with open(path, "a") as f:
        f.write('ch", "epoch": 0}\n')
    events = reader.read_new()
    assert [e["event"] for e in events] == ["epoch"] and reader.offset > first_offset
    assert reader.read_new() == [] and reader.bad_lines == []


def test_malformed_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"v":1,"time":1,"event":"start"}\nnot json\n[1,2]\n{"event":"x"}\n\xff\xfe\n'
                     b'{"v":1,"time":2,"event":"end","status":"finished"}\n')
    events, bad = read_events(path)
    assert [e["event"] for e in events] == ["start", "end"]
    assert [b.line_no for b in bad] == [2, 3, 4, 5]


def test_last_step_only_reads_a_chunk_with_bad_utf8_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"v": 1, "time": 1, "event": "start"}\n'
                     b'{"v": 1, "time": 2, "event": "step", "step": 1}\n'
                     b'{"v": 1, "time": 3, "event": "step", "step": 2}\n\xff\xfe\n'
                     b'{"v": 1, "time": 4, "event": "end", "status": "finished"}\n')
    reader = EventReader(path, last_step_only=True)
    events = reader.read_new()
    assert [(e["event"], e.get("step")) for e in events] == [("start", None), ("step", 2), ("end", None)]
    assert [b.line_no for b in reader.bad_lines] == [4]


def test_follows_a_file_written_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    script = (
        "import sys, time\nfrom torchx.events import EventWriter\n"
        "w = EventWriter(sys.argv[1])\n"
        "for i in range(200):\n    w.write('step', step=i)\n    time.sleep(0.001)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(path)])
    reader, seen = EventReader(path), []
    while proc.poll() is None:
        seen += reader.read_new()
    seen += reader.read_new()
    assert [e["step"] for e in seen] == list(range(200))
    assert reader.bad_lines == []


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=64), max_size=12))
def test_reader_survives_any_bytes(chunks: list[bytes]) -> None:
    reader = EventReader(Path("/nonexistent"))
    for chunk in chunks:
        for event in reader.parse_chunk(chunk):
            assert isinstance(event, dict) and isinstance(event["event"], str)


@settings(max_examples=100, deadline=None)
@given(events=st.lists(st.fixed_dictionaries({"step": st.integers(0, 10**6)}), max_size=20),
       cut=st.integers(1, 50))
def test_any_split_of_valid_lines_yields_the_same_events(events: list[dict[str, int]], cut: int) -> None:
    data = b"".join(json.dumps({"v": 1, "time": 1.0, "event": "step", **e}).encode() + b"\n" for e in events)
    reader = EventReader(Path("/nonexistent"))
    out = []
    for i in range(0, len(data), cut):
        out += reader.parse_chunk(data[i:i + cut])
    assert [e["step"] for e in out] == [e["step"] for e in events]


def test_iter_new_reads_a_long_log_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    writer.write("start", name="long", max_epochs=1)
    for step in range(200):
        writer.write("ckpt", path=f"ckpt/step-{step}.ckpt", step=step, monitor="val/acc", value=step / 200)
    expected = read_events(path)[0]
    chunks: list[int] = []
    parse = EventReader.parse_chunk
    monkeypatch.setattr(EventReader, "parse_chunk", lambda self, chunk: chunks.append(len(chunk))
                        or parse(self, chunk))
    reader = EventReader(path)
    assert list(reader.iter_new(max_bytes=1000)) == expected
    assert len(chunks) > 10 and max(chunks) <= 1000 and reader.offset == path.stat().st_size
    writer.write("end", status="finished")
    assert [e["event"] for e in reader.iter_new(max_bytes=1000)] == ["end"]
    assert list(reader.iter_new()) == []


def test_summary_folds_a_resumed_run() -> None:
    summary = RunSummary()
    summary.update([
        {"event": "start", "time": 10.0, "name": "r", "max_epochs": 4, "pid": 1},
        {"event": "epoch", "time": 11.0, "epoch": 0, "step": 5, "metrics": {"val/acc": 0.5}, "eta_s": 30},
        {"event": "end", "time": 12.0, "status": "stopped"},
        {"event": "start", "time": 20.0, "name": "r", "max_epochs": 4, "pid": 2},
        {"event": "unknown-type", "time": 20.5},
    ])
    assert summary.end_status is None and summary.pid == 2 and summary.starts == 2
    assert summary.epochs_done == 1 and summary.metrics["val/acc"] == 0.5
    assert summary.elapsed_s == 10.5


def test_last_step_only_folds_to_the_same_summary(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    writer.write("start", name="long", max_epochs=2, steps_per_epoch=500)
    for epoch in range(2):
        for step in range(epoch * 500 + 1, epoch * 500 + 501):
            writer.write("step", epoch=epoch, step=step, metrics={"train/loss": 1 / step},
                         samples_per_s=100.0 + step, eta_s=1000.0 - step)
        writer.write("epoch", epoch=epoch, step=(epoch + 1) * 500, metrics={"val/acc": 0.5 + epoch / 4})
    writer.write("step", epoch=2, step=1001, metrics={"train/loss": 0.001}, samples_per_s=1.0, eta_s=None)
    with open(path, "a") as f:  # a torn step in the middle of a run is not even looked at; the last is
        f.write('{"v": 1, "time": 5.0, "event": "step", "epoch": 2, "st\n')
    writer.write("step", epoch=2, step=1002, metrics={"train/loss": 0.002}, samples_per_s=2.0, eta_s=3.0)
    with open(path, "a") as f:
        f.write('not json\n')
    full, lean = EventReader(path), EventReader(path, last_step_only=True)
    events, few = full.read_new(), lean.read_new()
    assert [e["event"] for e in few] == ["start", "step", "epoch", "step", "epoch", "step"]
    assert few[1]["step"] == 500 and few[3]["step"] == 1000 and few[5]["step"] == 1002
    assert [b.line_no for b in full.bad_lines] == [1005, 1007]
    assert [b.line_no for b in lean.bad_lines] == [1007]
    a, b = RunSummary(), RunSummary()
    a.update(events)
    b.update(few)
    assert a == b
