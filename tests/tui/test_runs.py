"""The save-dir scanner: statuses, incremental tailing, damaged and foreign directories, formatting."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rundirs import T0, make_run

from torchx.events import EventReader
from tui.run.status import NOT_A_RUN
from tui.table import row_cache
from tui.table.rows import RunRow
from tui.table.scanner import RunsScanner
from tui.text import COLUMNS, epoch_text, eta_text, row_cells


def by_name(rows: list[RunRow]) -> dict[str, RunRow]:
    return {r.name: r for r in rows}


def test_statuses_and_columns(tmp_path: Path) -> None:
    for i, status in enumerate(("finished", "failed", "stopped", "lost", "running")):
        make_run(tmp_path, status, status, t=T0 + i)
    changed, removed = RunsScanner(tmp_path).poll()
    rows = by_name(changed)
    assert removed == []
    assert {name: row.status for name, row in rows.items()} == {
        s: s for s in ("finished", "failed", "stopped", "lost", "running")}
    finished = rows["finished"]
    assert (finished.epoch, finished.max_epochs, finished.config) == (3, 10, "digits-classification")
    assert finished.metric == ("acc", pytest.approx(0.58))
    assert rows["failed"].error == "RuntimeError: CUDA out of memory"
    assert rows["running"].eta_s == 70.0 and rows["finished"].eta_s is None
    cells = row_cells(rows["running"], now=T0 + 40.0)
    assert cells[1] == "▶ running" and cells[2].startswith("3/10 ██▍")
    assert cells[3] == "1:04"  # eta 70 s at its last event (T0+34), 6 s ago
    assert cells[8] == "0:36"  # started at T0+4


def test_newest_first(tmp_path: Path) -> None:
    for i in range(5):
        make_run(tmp_path, f"r{i}", "finished", t=T0 + 100 * ((i * 3) % 5))
    scanner = RunsScanner(tmp_path)
    scanner.poll()
    assert [r.name for r in scanner.rows()] == ["r3", "r1", "r4", "r2", "r0"]


def test_incremental_tail_reads_only_new_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path, "live", "running", epochs=1)
    scanner = RunsScanner(tmp_path)
    scanner.poll()
    reads: list[int] = []
    original = EventReader.parse_chunk
    monkeypatch.setattr(EventReader, "parse_chunk", lambda self, chunk: reads.append(len(chunk)) or
                        original(self, chunk))
    assert scanner.poll() == ([], [])
    assert reads == []
    line = json.dumps({"v": 1, "time": T0 + 50, "event": "epoch", "epoch": 1, "step": 40,
                       "metrics": {"val/acc": 0.9}, "eta_s": 5.0})
    with open(run / "events.jsonl", "a") as f:
        f.write(line[:20])
    changed, _ = scanner.poll()
    assert reads == [20] and changed == []  # a torn line waits for its newline
    with open(run / "events.jsonl", "a") as f:
        f.write(line[20:] + "\n")
    changed, _ = scanner.poll()
    assert reads == [20, len(line) - 19]
    assert changed[0].epoch == 2 and changed[0].metric == ("acc", 0.9)


def test_settled_run_costs_no_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_run(tmp_path, "done", "finished")
    scanner = RunsScanner(tmp_path)
    scanner.poll()
    monkeypatch.setattr("tui.table.scanner.read_run_json", lambda path: pytest.fail("re-read run.json"))
    monkeypatch.setattr(EventReader, "iter_new", lambda self: pytest.fail("re-read events"))
    assert scanner.poll() == ([], [])


def test_relaunch_of_settled_run_is_seen(tmp_path: Path) -> None:
    run = make_run(tmp_path, "again", "stopped")
    scanner = RunsScanner(tmp_path)
    assert scanner.poll()[0][0].status == "stopped"
    record = json.loads((run / "run.json").read_text())
    record.update(pid=os.getpid(), create_time=None, launched_at=T0 + 10_000)
    tmp = run / ".run.json.tmp"
    tmp.write_text(json.dumps(record))
    os.replace(tmp, run / "run.json")
    os.utime(run, (T0 + 10_000, T0 + 10_000))
    assert scanner.poll()[0][0].status == "starting"


def test_damaged_and_foreign_directories(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "events.jsonl").write_bytes(b"\x00\xff not json\n[1, 2]\n")
    half = make_run(tmp_path, "half", "finished")
    with open(half / "events.jsonl", "ab") as f:
        f.write(b"{broken\n")
    (tmp_path / "badjson").mkdir()
    (tmp_path / "badjson" / "run.json").write_text("{not json")
    (tmp_path / "file.txt").write_text("not a directory")
    rows = by_name(RunsScanner(tmp_path).poll()[0])
    assert set(rows) == {"notes", "garbage", "half", "badjson"}
    assert rows["notes"].status == NOT_A_RUN and rows["badjson"].status == "damaged"
    assert rows["badjson"].problem == "run.json: not JSON (JSONDecodeError)"
    assert rows["garbage"].status == "damaged" and rows["garbage"].bad_lines == 2
    assert rows["half"].status == "finished" and rows["half"].bad_lines == 1
    assert row_cells(rows["half"], T0)[1] == "✔ finished!"


def test_removed_directory(tmp_path: Path) -> None:
    run = make_run(tmp_path, "gone", "finished")
    scanner = RunsScanner(tmp_path)
    scanner.poll()
    for p in run.iterdir():
        p.unlink()
    run.rmdir()
    assert scanner.poll() == ([], ["gone"])


def test_missing_save_dir(tmp_path: Path) -> None:
    assert RunsScanner(tmp_path / "nope").poll() == ([], [])


def test_formatting_edges() -> None:
    row = RunRow("x", "running", epoch=10, max_epochs=10, eta_s=5.0, running_since=T0)
    assert epoch_text(row) == "10/10 ████████"
    assert epoch_text(RunRow("x", "running", epoch=0, max_epochs=0)) == ""
    assert eta_text(row, T0 + 100) == "0:00"


def test_long_names_keep_their_timestamp() -> None:
    row = RunRow("digits-classification-20261126-185237", "finished", config="digits-classification")
    cells = row_cells(row, T0)
    name, config = cells[0], cells[COLUMNS.index("config")]
    assert name == "digits-c…20261126-185237" and len(name) == 24
    assert config == "digits-classi…"


def test_settled_rows_are_cached_between_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save, cache = tmp_path / "save", tmp_path / "cache"
    for i, status in enumerate(("finished", "failed", "stopped", "running")):
        make_run(save, f"r{i}", status, t=T0 + i)
    first = by_name(RunsScanner(save, cache_dir=cache).poll()[0])
    with open(save / "r0" / "events.jsonl", "a") as f:  # r0 changed since: it is read again
        f.write(json.dumps({"v": 1, "time": T0 + 99, "event": "epoch", "epoch": 3, "step": 80,
                            "metrics": {"val/acc": 0.99}}) + "\n")
    reads: list[str] = []
    original = EventReader.iter_new

    def counted(self: EventReader, *a: object, **kw: object) -> Iterator[dict]:
        reads.append(Path(self.path).parent.name)
        return original(self, *a, **kw)

    monkeypatch.setattr(EventReader, "iter_new", counted)
    second = by_name(RunsScanner(save, cache_dir=cache).poll()[0])
    assert sorted(set(reads)) == ["r0", "r3"]  # the changed one and the running one
    assert second["r1"] == first["r1"] and second["r2"] == first["r2"]
    assert second["r0"].epoch == 4 and second["r0"].metric == ("acc", 0.99)


def test_a_new_row_field_retires_the_cache_by_itself(tmp_path: Path) -> None:
    """Adding a field to RunRow changes the cache's version without a hand bump, so rows cached before
    the change are read again instead of showing the new field's default."""
    @dataclass(frozen=True)
    class WiderRow(RunRow):
        queue_position: int | None = None

    assert row_cache.schema_version(WiderRow) != row_cache.VERSION == row_cache.schema_version(RunRow)
    save, cache = tmp_path / "save", tmp_path / "cache"
    make_run(save, "r0", "finished")
    RunsScanner(save, cache_dir=cache).poll()
    path = row_cache.cache_file(cache, save)
    assert row_cache.load(path)
    stale = json.loads(path.read_text())
    stale["version"] = row_cache.schema_version(WiderRow)
    path.write_text(json.dumps(stale))
    assert row_cache.load(path) == {}


def test_cache_is_written_only_when_a_settled_row_changes(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    save, cache = tmp_path / "save", tmp_path / "cache"
    make_run(save, "done", "finished")
    live = make_run(save, "live", "running")
    scanner = RunsScanner(save, cache_dir=cache)
    scanner.poll()
    saves: list[set[str]] = []
    original = row_cache.save
    monkeypatch.setattr(row_cache, "save", lambda path, rows: saves.append(set(rows)) or original(path, rows))
    with open(live / "events.jsonl", "a") as f:  # one more epoch of the training run: nothing to cache
        f.write(json.dumps({"v": 1, "time": T0 + 40, "event": "epoch", "epoch": 3, "step": 80,
                            "metrics": {"val/acc": 0.7}}) + "\n")
    assert [r.name for r in scanner.poll()[0]] == ["live"] and saves == []
    with open(live / "events.jsonl", "a") as f:  # it finished: now it is worth caching
        f.write(json.dumps({"v": 1, "time": T0 + 41, "event": "end", "status": "finished"}) + "\n")
    assert scanner.poll()[0][0].status == "finished" and saves == [{"done", "live"}]


def test_settled_runs_are_polled_in_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(10):
        make_run(tmp_path, f"r{i}", "finished", t=T0 + i)
    make_run(tmp_path, "live", "running")
    scanner = RunsScanner(tmp_path, settled_per_poll=5)
    scanner.poll()
    looked_at: list[str] = []
    file_key = row_cache.file_key
    monkeypatch.setattr(row_cache, "file_key", lambda path: looked_at.append(os.path.basename(path))
                        or file_key(path))
    scanner.poll()
    assert looked_at.count("live") == 1 and len(looked_at) == 6  # the live run always, half the settled
