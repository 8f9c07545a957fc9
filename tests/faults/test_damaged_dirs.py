"""The TUI survives any directory: one bad run directory is one row that says what is wrong with it.

The damaged-directory zoo (`tests/tui/zoo_dirs.py`) goes through the real app at 80x24: every exhibit
is one row with the right status and a visible reason, healthy runs beside it still show correctly,
the run view opens on each and says why, and `q` still quits. The readers under it are tested on
their own: every field of every event type wrongly typed, any bytes at all (hypothesis), files that
are FIFOs, directories, devices or link loops, a line without end, YAML alias bombs, and a reader's
own exception, which must cost one row and never the app.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import REPO, screen_text, wait_until
from helpers import make_app, open_launch, row, select, table
from hypothesis import given, settings
from hypothesis import strategies as st
from rundirs import T0, make_run
from zoo_dirs import ALIAS_BOMB, DAMAGED, EXHIBITS, FINISHED, Exhibit, build_zoo, release_fifos

from torchx import events as events_module
from torchx.events import EVENT_SCHEMA, MAX_LINE_BYTES, EventReader, event_problem
from torchx.summary import RunSummary
from tui.history.compare import open_loader
from tui.history.diff import diff_runs
from tui.live.loader import FULL_READ_BYTES, RunLoader
from tui.live.logtail import LogTail
from tui.live.watch import RunWatch
from tui.run.files import (
    MAX_LEAVES,
    TooManyKeys,
    first_start,
    flatten,
    read_config,
    read_config_values,
    read_meta,
    read_run_json,
)
from tui.run.status import run_status
from tui.screens.launch import LaunchScreen
from tui.screens.run_view import RunViewScreen
from tui.screens.runs import RunsScreen
from tui.table.scanner import RunsScanner, RunTracker
from tui.text import full_name_text, name_text, printable
from tui.widgets.line import Line


def reads_anything() -> bool:
    """Whether this process reads a chmod 000 directory (root, with its usual capabilities, does)."""
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0)
        try:
            os.listdir(tmp)
            return True
        except PermissionError:
            return False
        finally:
            os.chmod(tmp, 0o700)


READS_ANYTHING = reads_anything()
GOOD = {"end": {"status": "finished"}}
"""The fields an event needs besides its time (an `end` without its status is no end)."""
WRONG = {"text": "five", "an integer": 5, "a number": 0.5, "a list": [1], "an object": {"a": 1},
         "true/false": True}
"""A value of each JSON type, to put where the schema wants another."""


def expected(exhibit: Exhibit) -> tuple[str, str]:
    """(status, reason) the TUI must show: root reads a chmod 000 directory like any other."""
    if exhibit.unprivileged and READS_ANYTHING:
        return FINISHED, ""
    return exhibit.status, exhibit.reason


def bounded(call: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """`call()` in a daemon thread: a reader that blocks (a FIFO opened the blocking way) fails the
    test instead of hanging the session."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{what} did not return within {timeout:.0f} s"
    assert result, f"{what} raised (see the thread's traceback above)"
    return result[0]


@pytest.fixture
def zoo(tmp_path: Path) -> Iterator[Path]:
    save = tmp_path / "save"
    build_zoo(save)
    yield save
    release_fifos(save)


def line(event: str, **fields: Any) -> bytes:
    return json.dumps({"v": 1, "time": T0, "event": event, **fields}).encode() + b"\n"


# ---- the event reader ----

SCHEMA_CASES = [(kind, field, name) for kind, schema in EVENT_SCHEMA.items() for field, types in schema
                for name, value in WRONG.items() if type(value) not in types]


@pytest.mark.parametrize(("kind", "field", "wrong"), SCHEMA_CASES,
                         ids=[f"{k}.{f}={w}" for k, f, w in SCHEMA_CASES])
@pytest.mark.parametrize("last_step_only", [False, True])
def test_a_wrongly_typed_field_makes_its_line_bad(kind: str, field: str, wrong: str,
                                                  last_step_only: bool) -> None:
    reader = EventReader("/nonexistent", last_step_only=last_step_only)
    good = line("start", name="r") + line(kind, **GOOD.get(kind, {})) + line("epoch", epoch=0, step=1)
    assert [e["event"] for e in reader.parse_chunk(good)] == ["start", kind, "epoch"]
    wrong_line = line(kind, **{**GOOD.get(kind, {}), field: WRONG[wrong]})
    events = reader.parse_chunk(wrong_line + line("end", status="finished"))
    assert [e["event"] for e in events] == ["end"]
    [bad] = reader.bad_lines
    assert bad.line_no == 4 and bad.reason.startswith(f"{kind}.{field}: expected ")
    assert bad.reason.endswith(f"got {wrong}")
    assert reader.first_problem == f"nonexistent line 4: {bad.reason}"


def test_an_end_with_an_unknown_status_is_bad() -> None:
    reader = EventReader("/nonexistent")
    [end] = reader.parse_chunk(line("end", status="banana") + line("end", status="stopped"))
    assert end["status"] == "stopped"
    assert reader.bad_lines[0].reason == "end.status: expected failed or finished or stopped, got 'banana'"
    assert event_problem({"event": "custom", "time": 1, "anything": object()}) is None  # unknown: accepted


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=64), max_size=12), cap=st.integers(8, 64))
def test_any_bytes_give_well_typed_events_and_bounded_memory(chunks: list[bytes], cap: int) -> None:
    """Whatever the bytes, every returned event fits the schema and a line without end is never held
    past the cap (lowered here so that hypothesis reaches it)."""
    reader = EventReader("/nonexistent")
    with mock.patch.object(events_module, "MAX_LINE_BYTES", cap):
        for chunk in chunks:
            for event in reader.parse_chunk(chunk):
                assert event_problem(event) is None
            assert len(reader._pending) <= cap


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(EVENT_SCHEMA)), fields=st.dictionaries(
    st.sampled_from(sorted({f for schema in EVENT_SCHEMA.values() for f, _ in schema})),
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.floats(allow_nan=False), max_size=2)))
def test_any_field_values_fold_only_as_their_types(kind: str, fields: dict[str, Any]) -> None:
    """The summary folds whatever it is given (a reader's events or not) without raising, and keeps
    only values of the schema's types."""
    event = {"event": kind, "time": T0, **fields}
    reader = EventReader("/nonexistent")
    read = reader.parse_chunk(json.dumps(event).encode() + b"\n")
    assert (read == [event]) == (event_problem(event) is None)
    summary = RunSummary()
    summary.apply({"event": "start", "time": T0, "name": "r"})
    summary.apply(event)
    for key, types in EVENT_SCHEMA["start"]:
        if hasattr(summary, key):
            assert type(getattr(summary, key)) in types, key
    assert summary.epoch is None or type(summary.epoch) is int
    assert summary.end_status in (None, "finished", "failed", "stopped")
    assert all(type(v) in (int, float) for v in summary.metrics.values())


def test_the_summary_ignores_wrong_types_it_is_handed() -> None:
    summary = RunSummary()
    summary.update([
        {"event": "start", "time": T0, "max_epochs": "five", "pid": "1", "host": 3},
        {"event": "epoch", "time": T0 + 1, "epoch": "one", "step": 20, "metrics": {"a": "x", "b": 1.0}},
        {"event": "end", "time": T0 + 2, "status": 5},
    ])
    s = summary
    assert (s.max_epochs, s.pid, s.host, s.epoch, s.step) == (None, None, None, None, 20)
    assert summary.metrics == {"b": 1.0} and summary.end_status is None and summary.starts == 1


def test_a_line_without_end_is_one_bad_line_and_costs_no_memory(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line("start", name="r") + b"x" * (3 * MAX_LINE_BYTES))
    reader = EventReader(path)
    assert [e["event"] for e in reader.iter_new(max_bytes=MAX_LINE_BYTES // 2)] == ["start"]
    assert [(b.line_no, b.reason) for b in reader.bad_lines] == [(2, f"longer than {MAX_LINE_BYTES:,} bytes")]
    assert len(reader._pending) <= MAX_LINE_BYTES
    with open(path, "ab") as f:
        f.write(b"tail of the long line\n" + line("end", status="finished"))
    assert [e["event"] for e in reader.iter_new()] == ["end"]
    assert [b.line_no for b in reader.bad_lines] == [2] and reader.line_no == 3


@pytest.mark.parametrize(("make", "why"), [
    (os.mkfifo, "not a regular file (a FIFO)"),
    (os.mkdir, "not a regular file (a directory)"),
    (lambda path: os.symlink("/dev/zero", path), "not a regular file (a device)"),
    (lambda path: os.symlink(os.path.basename(path), path), "Too many levels of symbolic links"),
], ids=["fifo", "directory", "dev-zero", "link-loop"])
def test_an_event_log_that_is_no_file_reads_as_nothing_and_says_why(
        tmp_path: Path, make: Callable[[str], None], why: str) -> None:
    path = tmp_path / "events.jsonl"
    make(str(path))
    try:
        reader = EventReader(path, last_step_only=True)
        assert bounded(lambda: list(reader.iter_new()), "the event reader") == []
        assert reader.problem == reader.first_problem == f"events.jsonl: {why}"
        loader = RunLoader(path)
        assert bounded(loader.open, "the run view's loader").version == 0 and loader.problem == reader.problem
    finally:
        release_fifos(tmp_path)


def test_a_large_log_whose_first_line_never_ends_is_bad(tmp_path: Path) -> None:
    """Over `FULL_READ_BYTES` the run view reads head, samples and tail: a head without a newline is a
    first line over the cap, reported as the small-file reader would."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"y" * (FULL_READ_BYTES + MAX_LINE_BYTES) + b"\n" + line("end", status="finished"))
    loader = RunLoader(path)
    loader.open()
    loader.finish_backfill()
    assert loader.sparse and loader.bad_lines >= 1
    assert loader.problem == f"events.jsonl line 1: longer than {MAX_LINE_BYTES:,} bytes"


# ---- the other files of a run directory ----

@pytest.mark.parametrize(("content", "why"), [
    ("[1, 2]", "run.json: expected an object, got list"),
    ("{not json", "run.json: not JSON (JSONDecodeError)"),
    (json.dumps({"pid": True}), "run.json: pid: expected an integer, got true/false"),
    (json.dumps({"launched_at": "yesterday"}), "run.json: launched_at: expected a number, got text"),
    (json.dumps({"launches": [{"argv": "python"}]}),
     "run.json: launches[0]: argv: expected a list, got text"),
    (json.dumps({"launches": [3]}), "run.json: launches[0]: expected an object, got int"),
])
def test_run_json_is_type_checked(tmp_path: Path, content: str, why: str) -> None:
    (tmp_path / "run.json").write_text(content)
    assert read_run_json(tmp_path / "run.json") == (None, why)


def test_small_files_that_are_fifos_never_block(tmp_path: Path) -> None:
    for name in ("run.json", "meta.yaml", "config.yaml", "events.jsonl"):
        os.mkfifo(tmp_path / name)
    try:
        assert bounded(lambda: read_run_json(tmp_path / "run.json"), "run.json") == (
            None, "run.json: not a regular file (a FIFO)")
        meta_error = bounded(lambda: read_meta(tmp_path).error, "meta.yaml")
        assert meta_error == "meta.yaml: not a regular file (a FIFO)"
        assert bounded(lambda: (read_config(tmp_path), read_config_values(tmp_path), first_start(tmp_path)),
                       "config.yaml and the first start") == ("", {}, {})
        tail = LogTail(tmp_path / "config.yaml")
        assert bounded(tail.poll, "a log tail") == ["[config.yaml: not a regular file (a FIFO)]"]
        assert tail.poll() == []  # said once
    finally:
        release_fifos(tmp_path)


def test_yaml_alias_bombs_are_refused_or_bounded(tmp_path: Path) -> None:
    (tmp_path / "meta.yaml").write_text(ALIAS_BOMB + "note: hi\ntags: *i\n")
    (tmp_path / "config.yaml").write_text(ALIAS_BOMB + "trainer_params: *i\n")
    error = bounded(lambda: read_meta(tmp_path).error, "meta.yaml")
    assert error.startswith("meta.yaml: ") and len(error) < 120
    assert bounded(lambda: read_config_values(tmp_path), "config.yaml") == {}
    deep: list[Any] = ["x"] * 10
    for _ in range(8):
        deep = [deep] * 10  # what an alias bomb builds, if a loader let it through: 10⁹ leaves

    def flat() -> str:
        try:
            return str(len(flatten({"a": deep})))
        except TooManyKeys as exc:
            return str(exc)

    assert bounded(flat, "flatten") == f"more than {MAX_LEAVES:,} keys"


def test_status_of_a_damaged_story() -> None:
    summary = RunSummary()
    assert run_status(summary, {"pid": 1}, "box", bad_lines=2) == DAMAGED  # launched, but no start to read
    summary.apply({"event": "start", "time": T0, "pid": 999_999, "host": "box"})
    assert run_status(summary, None, "box", damaged=True) == DAMAGED
    summary.apply({"event": "end", "time": T0 + 1, "status": "finished"})
    assert run_status(summary, None, "box", bad_lines=3) == FINISHED


# ---- a reader's own exception costs one row, never the scan or the view ----

def test_an_exception_while_reading_damages_one_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_run(tmp_path, "healthy", FINISHED)
    make_run(tmp_path, "cursed", FINISHED)
    original = RunSummary.apply

    def apply(self: RunSummary, event: dict[str, Any]) -> None:
        if event.get("name") == "cursed":
            raise KeyError("a bug met by this directory")
        original(self, event)

    monkeypatch.setattr(RunSummary, "apply", apply)
    scanner = RunsScanner(tmp_path)
    rows = {r.name: r for r in scanner.poll()[0]}
    assert rows["healthy"].status == FINISHED and rows["cursed"].status == DAMAGED
    assert rows["cursed"].problem == "cannot read: KeyError: 'a bug met by this directory'"
    assert scanner.poll() == ([], [])  # read again from scratch, and damaged again: no change
    watch = RunWatch(tmp_path / "cursed")
    snapshot, logs = watch.poll(0.0, force=True)
    assert snapshot is not None and snapshot.status == DAMAGED and logs == {}
    assert snapshot.problem == rows["cursed"].problem
    assert watch.poll(1.0) == (None, {})  # the watch stopped at its failure
    assert RunTracker(str(tmp_path / "healthy")).refresh("box").status == FINISHED


# ---- every exhibit of the zoo, read by each reader ----

def test_every_reader_returns_on_every_exhibit(zoo: Path) -> None:
    check_readers(zoo, EXHIBITS)


def check_readers(zoo: Path, exhibits: tuple[Exhibit, ...]) -> None:
    """The scanner, the run view's watch, compare's loader and diff on every exhibit: each returns,
    with the status and the reason the exhibit expects."""
    rows = {r.name: r for r in bounded(lambda: RunsScanner(zoo).poll()[0], "the scanner")}
    assert set(rows) == {e.name for e in exhibits}
    for exhibit in exhibits:
        status, reason = expected(exhibit)
        got = rows[exhibit.name]
        assert (got.status, reason in (got.problem or got.meta_error)) == (status, True), exhibit.name
        snapshot, _ = bounded(lambda e=exhibit: RunWatch(zoo / e.name).poll(T0, force=True), exhibit.name)
        assert snapshot.status == status and (reason in snapshot.problem or not got.problem), exhibit.name
        bounded(lambda e=exhibit: open_loader(zoo / e.name), f"compare on {exhibit.name}")
        diff = bounded(lambda e=exhibit: diff_runs(zoo / "healthy-finished", zoo / e.name),
                       f"diff on {exhibit.name}")
        assert diff.b == exhibit.name


# ---- the zoo through the app ----

async def walk_the_zoo(app: Any, exhibits: tuple[Exhibit, ...], launch_config: str | None = None) -> float:
    """Every exhibit's row, its reason under the table, its run view; then `q`. Returns the seconds
    from `q` to the app's end."""
    names = {e.name for e in exhibits}
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: names <= set(table(app).runs), 120, "a row for every exhibit")
        for exhibit in exhibits:
            await check_row(pilot, app, exhibit)
        for exhibit in exhibits:
            await check_view(pilot, app, exhibit)
        if launch_config is not None:
            await check_launch_refuses(pilot, app, launch_config)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("q")
        pressed = time.monotonic()
    assert app.return_code == 0
    return time.monotonic() - pressed


async def check_row(pilot: Any, app: Any, exhibit: Exhibit) -> None:
    status, reason = expected(exhibit)
    await wait_until(pilot, lambda: row(app, exhibit.name).status == status, 120, f"{exhibit.name}: {status}")
    got = row(app, exhibit.name)
    await select(pilot, app, exhibit.name)
    detail = app.screen.query_one("#detail", Line)
    if reason:
        assert reason in (got.problem or got.meta_error), exhibit.name
        await wait_until(pilot, lambda: printable(reason) in screen_text(app), 120, f"{exhibit.name}: why")
    else:
        assert not got.problem and not got.meta_error, exhibit.name
        whole = full_name_text(got)  # nothing wrong: the line under the table shows a clipped name whole
        assert detail.text == whole and detail.display == bool(whole), exhibit.name
    await wait_until(pilot, lambda: name_text(got) in screen_text(app), 120, f"{exhibit.name}'s row in view")


async def check_view(pilot: Any, app: Any, exhibit: Exhibit) -> None:
    status, reason = expected(exhibit)
    await select(pilot, app, exhibit.name)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, RunViewScreen) and app.screen.snapshot is not None,
                     120, f"the run view of {exhibit.name}")
    view = app.screen
    await wait_until(pilot, lambda: view.snapshot.status == status, 120, f"{exhibit.name}'s view: {status}")
    title = view.query_one("#title", Line).text
    assert status in title and printable(exhibit.name) in title, title
    if reason and row(app, exhibit.name).problem:
        header = view.query_one("#error", Line)
        await wait_until(pilot, lambda: reason in header.text, 120, f"{exhibit.name}: why, in its view")
        assert printable(f"! {reason}") in screen_text(app)
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen), 120, "the runs table again")


async def check_launch_refuses(pilot: Any, app: Any, config: str) -> None:
    """The launch dialog on a config that is an alias bomb: refused with its reason, the app alive."""
    screen = await open_launch(pilot, app, config)
    status = screen.query_one("#config-status")
    await wait_until(pilot, lambda: "aliases" in str(status.content), 120, f"{config} refused")
    await pilot.press("escape")
    await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), 120, "the dialog closed")


class PeakMemory:
    """This process's largest resident size while the block runs, sampled by a thread (a reader of
    `/dev/zero` would grow it by gigabytes)."""

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = _rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_the_zoo_through_the_app(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    build_zoo(app.settings.save_dir)
    configs = app.settings.configs_dir
    (configs / "bomb.yaml").write_text(ALIAS_BOMB + "data_module: *i\n")
    os.mkfifo(configs / "fifo.yaml")  # never offered (not a file), never opened
    try:
        with PeakMemory() as memory:
            quit_s = await walk_the_zoo(app, EXHIBITS, launch_config="bomb.yaml")
    finally:
        release_fifos(app.settings.save_dir)
        release_fifos(configs)
    assert quit_s < 120, f"q took {quit_s:.1f} s"
    assert memory.growth < 1 << 30, f"the app grew by {memory.growth >> 20} MiB"


async def test_an_action_worker_that_raises_reports_instead_of_exiting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.launch import fork

    def fork_prefill(*args: object) -> None:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "a file nobody foresaw")

    monkeypatch.setattr(fork, "fork_prefill", fork_prefill)
    app = make_app(tmp_path)
    make_run(app.settings.save_dir, "healthy", FINISHED)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "healthy") is not None, 120, "the row")
        await pilot.press("f")
        await wait_until(pilot, lambda: any("cannot fork 'healthy': UnicodeDecodeError" in n.message
                                            for n in app._notifications), 120, "the refusal")
        assert app.is_running and isinstance(app.screen, RunsScreen)
        await pilot.press("q")
    assert app.return_code == 0


# ---- the unreadable directory, met by a process that cannot read it ----

ALONE = (EXHIBITS[0], next(e for e in EXHIBITS if e.unprivileged))
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def main_without_override(root: str) -> int:
    """The child's side: the app on a save dir whose one run directory this process cannot read."""
    assert not READS_ANYTHING
    check_readers(Path(root) / "save", ALONE)
    return 0 if asyncio.run(walk_the_zoo(make_app(Path(root)), ALONE)) < 120 else 1


def drop_read_override() -> None:
    """Between fork and exec: the child runs as root without the capabilities that let root read
    whatever it likes, so a chmod 000 directory stops it as it stops any other user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.skipif(not READS_ANYTHING, reason="the zoo test meets the unreadable directory itself")
def test_an_unreadable_directory_through_the_app(tmp_path: Path) -> None:
    build_zoo(tmp_path / "save", ALONE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO), str(REPO / "tests" / "tui")))}
    code = ("import sys; from tests.faults.test_damaged_dirs import main_without_override as main; "
            f"sys.exit(main({str(tmp_path)!r}))")
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=600, preexec_fn=drop_read_override)
    except PermissionError:
        pytest.skip("this system does not let a process drop its capabilities")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    release_fifos(tmp_path / "save")
