"""Keys that do not surprise: `q` on a pushed screen goes back like `escape`; only the home screen's
`q` quits. Through the real app at 80x24."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import wait_until
from test_compare import three_runs
from test_marks_diff import app_on, filled

from tui.screens.compare import CompareScreen
from tui.screens.diff import DiffScreen
from tui.screens.gpus import GpusScreen
from tui.screens.runs import RunsScreen


@pytest.mark.parametrize(("keys", "screen"), [
    (("space", "down", "space", "c"), CompareScreen),
    (("space", "down", "space", "d"), DiffScreen),
    (("g",), GpusScreen),
], ids=["compare", "diff", "gpus"])
async def test_q_on_a_pushed_screen_goes_back(tmp_path: Path, keys: tuple[str, ...], screen: type) -> None:
    three_runs(tmp_path / "save")
    app = app_on(tmp_path / "save")
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, 3)
        await pilot.press(*keys)
        await wait_until(pilot, lambda: isinstance(app.screen, screen), 120, screen.__name__)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen), 120, "the runs table again")
        assert app.is_running
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, 120, "the app to quit")


async def test_home_and_end_go_to_the_first_and_last_run(tmp_path: Path) -> None:
    names = three_runs(tmp_path / "save")
    app = app_on(tmp_path / "save")
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, 3)
        runs = app.screen.query_one("#runs")
        first = runs.selected_name
        await pilot.press("end")
        await wait_until(pilot, lambda: runs.cursor_row == 2, 120, "the last run")
        assert runs.selected_name != first and {first, runs.selected_name} <= set(names)
        await pilot.press("home")
        await wait_until(pilot, lambda: runs.cursor_row == 0, 120, "the first run")
        assert runs.selected_name == first
