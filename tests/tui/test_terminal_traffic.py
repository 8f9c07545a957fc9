"""What keeps the TUI's terminal traffic low (`bench/terminal.py` measures the bytes): a popped screen
leaves no timer or worker of its own, an unchanged row is not rewritten, and live numbers still update."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_until
from helpers import make_app, table
from rundirs import T0, make_run, write_events

from tui.screens.run_view import RunViewScreen
from tui.screens.runs import RunsScreen
from tui.widgets.log_panel import LogPanel
from tui.widgets.runs_table import RunsTable


def _timers(app) -> set[object]:
    return {timer for screen in app.screen_stack for timer in screen._timers if timer._active}


def _running_workers(app) -> set[object]:
    return {worker for worker in app.workers if not worker.is_finished}


async def test_a_popped_run_view_leaves_no_timer_or_worker(tmp_path: Path) -> None:
    save = tmp_path / "save"
    make_run(save, "live", "running")
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "live" in table(app).runs, 120, "the row")
        timers, workers = _timers(app), _running_workers(app)
        app.open_run("live")
        await wait_until(pilot, lambda: isinstance(app.screen, RunViewScreen)
                         and app.screen.snapshot is not None, 120, "the run view")
        view = app.screen
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen)
                         and _running_workers(app) <= workers, 120, "the run view's workers to end")
        assert _timers(app) <= timers
        assert not [t for t in view._timers if t._active]


async def test_a_row_that_did_not_change_is_not_rewritten(tmp_path: Path, monkeypatch) -> None:
    save = tmp_path / "save"
    make_run(save, "live", "running")
    make_run(save, "done", "finished", t=T0 - 100)
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        runs = table(app)
        await wait_until(pilot, lambda: {"live", "done"} <= runs.shown, 120, "the rows")
        calls: list[tuple[object, ...]] = []
        update = RunsTable.update_cell

        def counted(self, *args, **kwargs):
            calls.append(args)
            return update(self, *args, **kwargs)

        monkeypatch.setattr(RunsTable, "update_cell", counted)
        runs.apply(list(runs.runs.values()), [])  # a poll with the same rows
        assert calls == []
        runs.tick()
        runs.tick()  # the second tick in the same second: no clock-driven text changed either
        assert not [c for c in calls if str(c[0]) == "done"]


async def test_the_header_shows_a_new_step(tmp_path: Path) -> None:
    save = tmp_path / "save"
    run_dir = make_run(save, "live", "running", max_epochs=1000)
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_run("live")
        await wait_until(pilot, lambda: isinstance(app.screen, RunViewScreen)
                         and app.screen.snapshot is not None, 120, "the run view")
        progress = app.screen.query_one("#progress")
        write_events(run_dir / "events.jsonl", [{"time": T0 + 100, "event": "step", "epoch": 3,
                                                 "step": 4321, "metrics": {"train/loss": 0.5},
                                                 "samples_per_s": 100.0, "eta_s": 50.0}])
        await wait_until(pilot, lambda: "step 4321/" in progress.text, 120, "the new step")


def _counting(method, calls: list[str]):
    def counted(self, *args):
        calls.append(method.__name__)
        return method(self, *args)
    return counted


async def test_the_covered_table_stays_quiet_and_catches_up_on_return(tmp_path: Path, monkeypatch) -> None:
    """Under the run view the table neither ticks nor applies scans (Textual would repaint the whole
    view for each); back on top it shows what changed meanwhile."""
    save = tmp_path / "save"
    run_dir = make_run(save, "live", "running", max_epochs=1000)
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        runs_screen = app.screen
        runs = table(app)
        await wait_until(pilot, lambda: "live" in runs.runs, 120, "the row")
        handled: list[str] = []
        for name in ("apply", "tick"):
            monkeypatch.setattr(RunsTable, name, _counting(getattr(RunsTable, name), handled))
        app.open_run("live")
        await wait_until(pilot, lambda: isinstance(app.screen, RunViewScreen)
                         and app.screen.snapshot is not None, 120, "the run view")
        handled.clear()
        write_events(run_dir / "events.jsonl", [{"time": T0 + 100, "event": "step", "epoch": 3,
                                                 "step": 4321, "metrics": {"train/loss": 0.5},
                                                 "samples_per_s": 100.0, "eta_s": 50.0}])
        tracker = runs_screen.scanner.trackers["live"]
        await wait_until(pilot, lambda: tracker.row is not None and tracker.row.eta_s == 50.0, 120,
                         "the scan to read the new step")
        await wait_until(pilot, lambda: "step 4321/" in app.screen.query_one("#progress").text, 120,
                         "the view to show it")
        assert handled == []
        await pilot.press("escape")
        await wait_until(pilot, lambda: runs.runs["live"].eta_s == 50.0, 120, "the table to catch up")


async def test_log_lines_wait_for_the_log_tab(tmp_path: Path) -> None:
    """A write to the log view lays the whole screen out again: lines that arrive while another tab is
    shown are written when the Log tab opens."""
    save = tmp_path / "save"
    run_dir = make_run(save, "live", "running", max_epochs=1000)
    (run_dir / "log.txt").write_text("first line\n")
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_run("live")
        await wait_until(pilot, lambda: isinstance(app.screen, RunViewScreen)
                         and app.screen.snapshot is not None, 120, "the run view")
        panel = app.screen.query_one(LogPanel)
        await wait_until(pilot, lambda: "first line" in panel._lines["log.txt"], 120, "the first line read")
        with (run_dir / "log.txt").open("a") as log:
            log.write("a later line\n")
        await wait_until(pilot, lambda: "a later line" in panel._lines["log.txt"], 120, "the later line read")
        await wait_until(pilot, lambda: panel._flush_timer is None, 120, "no write due")
        assert "a later line" not in panel.log_view.lines
        await pilot.press("2")
        await wait_until(pilot, lambda: "a later line" in panel.log_view.lines, 120, "the line written")
