"""Snapshots at 80x24 of the diff screen (config and code tabs) from two fixed run directories."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_until
from diff_dirs import make_pair
from rundirs import T0

from tui.app import TorchxApp
from tui.settings import Settings


def build_pair(workdir: Path) -> TorchxApp:
    make_pair(workdir / "save")
    return TorchxApp(Settings(save_dir=Path("save"), configs_dir=Path("configs"), clock=lambda: T0 + 1000,
                              live=False, cache_dir=None))


async def diff_open(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.screen.query_one("#runs").row_count == 2, 10, "the table")
    await pilot.press("space", "down", "space", "d")
    await wait_until(pilot, lambda: getattr(pilot.app.screen, "diff", None) is not None, 10, "the diff")
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
