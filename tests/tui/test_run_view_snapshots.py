"""Snapshots of the run view at 80x24 and 120x40, from a fixed run directory, clock and GPUs."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_until
from run_view_app import NAME, build, build_gpus


async def opened(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    pilot.app.open_run(NAME)
    await wait_until(pilot, lambda: getattr(pilot.app.screen, "snapshot", None) is not None, 120, "the view")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def opened_on_system_tab(pilot) -> None:
    await opened(pilot)
    await pilot.press("3")
    panel = pilot.app.screen.query_one("#gpu-panel")
    await wait_until(pilot, lambda: "GPU0" in panel.text, 120, "the system panel")
    await pilot.pause()


async def opened_on_log_tab(pilot) -> None:
    await opened(pilot)
    await pilot.press("2")
    log = pilot.app.screen.query_one("#log-view")
    await wait_until(pilot, lambda: log.line_count >= 6, 120, "the log")
    await pilot.pause()


def test_run_view_80x24(workdir: Path, snap_compare) -> None:
    assert snap_compare(build(workdir), terminal_size=(80, 24), run_before=opened)


def test_run_view_120x40(workdir: Path, snap_compare) -> None:
    assert snap_compare(build(workdir), terminal_size=(120, 40), run_before=opened)


def test_run_view_log_tab_80x24(workdir: Path, snap_compare) -> None:
    assert snap_compare(build(workdir), terminal_size=(80, 24), run_before=opened_on_log_tab)


def test_run_view_system_tab_80x24(workdir: Path, snap_compare) -> None:
    assert snap_compare(build(workdir), terminal_size=(80, 24), run_before=opened_on_system_tab)


def test_run_view_system_tab_120x40(workdir: Path, snap_compare) -> None:
    assert snap_compare(build(workdir), terminal_size=(120, 40), run_before=opened_on_system_tab)


async def gpu_screen(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.press("g")
    await wait_until(pilot, lambda: pilot.app.screen.query("#gpu-procs")
                     and pilot.app.screen.query_one("#gpu-procs").row_count == 2, 120, "the GPU owners")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_gpu_screen_120x40(workdir: Path, snap_compare) -> None:
    assert snap_compare(build_gpus(workdir), terminal_size=(120, 40), run_before=gpu_screen)


def test_gpu_screen_80x24(workdir: Path, snap_compare) -> None:
    assert snap_compare(build_gpus(workdir), terminal_size=(80, 24), run_before=gpu_screen)
