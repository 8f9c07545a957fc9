"""Snapshots at 80x24 of the diff screen (config and code tabs) from two fixed run directories, and of
the compare screen on three."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_until
from diff_dirs import make_curve_run, make_pair
from rundirs import T0

from tui.app import TorchxApp
from tui.settings import Settings


def build_pair(workdir: Path) -> TorchxApp:
    make_pair(workdir / "save")
    return TorchxApp(Settings(save_dir=Path("save"), configs_dir=Path("configs"), clock=lambda: T0 + 1000,
                              live=False, cache_dir=None))


async def diff_open(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.screen.query_one("#runs").row_count == 2, 120, "the table")
    await pilot.press("space", "down", "space", "d")
    await wait_until(pilot, lambda: getattr(pilot.app.screen, "diff", None) is not None, 120, "the diff")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_diff_config(workdir: Path, snap_compare) -> None:
    assert snap_compare(build_pair(workdir), terminal_size=(80, 24), run_before=diff_open)


def test_diff_code(workdir: Path, snap_compare) -> None:
    async def code_tab(pilot) -> None:
        await diff_open(pilot)
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(build_pair(workdir), terminal_size=(80, 24), run_before=code_tab)


def test_compare(workdir: Path, snap_compare) -> None:
    for i, rate in enumerate((0.3, 0.6, 1.2)):
        make_curve_run(workdir / "save", f"lr-{rate}", T0 + 100 * i, rate)
    app = TorchxApp(Settings(save_dir=Path("save"), configs_dir=Path("configs"), clock=lambda: T0 + 1000,
                             live=False, cache_dir=None))

    async def compare_open(pilot) -> None:
        await wait_until(pilot, lambda: pilot.app.screen.query_one("#runs").row_count == 3, 120, "the table")
        await pilot.press("space", "down", "space", "down", "space", "c")
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "complete", False), 120, "the metrics")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=compare_open)
