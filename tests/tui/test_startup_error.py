"""A launch whose child died before the entry's `start`: the row and the run view say why from
`stdout.log` (the part this launch wrote), or that it was lost before start."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import wait_until
from helpers import make_app

from tui.run.files import startup_error
from tui.screens.run_view import RunViewScreen
from tui.table.scanner import RunsScanner
from tui.widgets.log_panel import LogPanel

LOST = "lost before start: killed before the entry wrote anything"
TRACEBACK = "Traceback (most recent call last):\n  File \"x\", line 1\nValueError: lr must be > 0\n"


def launched_then_dead(save: Path, name: str, stdout: str, offset: int = 0) -> Path:
    run = save / name
    run.mkdir(parents=True)
    (run / "stdout.log").write_text(stdout)
    record = {"argv": ["py", "-m", "torchx.train_pl", "--config", "c.yaml"], "pid": 999_999_999,
              "create_time": 1.0, "launched_at": 1.0, "backend": "local", "stdout_offset": offset}
    (run / "run.json").write_text(json.dumps(record))
    return run


@pytest.mark.parametrize(("stdout", "offset", "status", "error"), [
    ("error: c.yaml: trainer_params.max_epoch: unknown key\n", 0, "failed",
     "c.yaml: trainer_params.max_epoch: unknown key"),
    (TRACEBACK, 0, "failed", "ValueError: lr must be > 0"),
    ("", 0, "lost", LOST),
    ("error: an earlier launch's complaint\n", 38, "lost", LOST),
])
def test_the_row_says_why_a_launch_never_started(tmp_path: Path, stdout: str, offset: int, status: str,
                                                 error: str) -> None:
    launched_then_dead(tmp_path, "r", stdout, offset)
    [row] = RunsScanner(tmp_path, host="h").poll()[0]
    assert (row.status, row.error) == (status, error)


def test_a_fifo_for_stdout_says_nothing_and_never_blocks(tmp_path: Path) -> None:
    run = launched_then_dead(tmp_path, "r", "")
    (run / "stdout.log").unlink()
    os.mkfifo(run / "stdout.log")
    assert startup_error(run, {}) == ""


@pytest.mark.parametrize(("stdout", "header", "line"), [
    ("Initializing\nerror: c.yaml: trainer_params.max_epoch: unknown key\n",
     "✘ error: c.yaml: trainer_params.max_epoch: unknown key", "error: c.yaml"),
    (TRACEBACK, "✘ ValueError: lr must be > 0", "Traceback (most recent call last):"),
])
async def test_the_run_view_of_a_launch_that_never_started_says_why(tmp_path: Path, stdout: str, header: str,
                                                                    line: str) -> None:
    """No `log.txt`, no events: the header's error line and the Log tab (on `stdout.log`, at the error)
    still tell why."""
    launched_then_dead(tmp_path / "save", "refused", stdout)
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_run("refused")
        await wait_until(pilot, lambda: isinstance(app.screen, RunViewScreen)
                         and app.screen.snapshot is not None and app.screen.snapshot.status == "failed", 120,
                         "the failed run's view")
        screen = app.screen
        await wait_until(pilot, lambda: screen.query_one("#error").text == header, 120, "the error line")
        panel = screen.query_one(LogPanel)
        await wait_until(pilot, lambda: panel.source == "stdout.log"
                         and screen.query_one("#tabs").active == "log", 120, "stdout.log shown")
        await wait_until(pilot, lambda: any(line in shown for shown in panel.log_view.lines), 120,
                         "the error")
