"""Snapshots at 80x24 of the runs table, the launch dialog (with and without GPUs) and the help."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_until
from snapshot_app import build
from textual.widgets import Input

from tui.screens.launch import LaunchScreen


async def table_filled(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.screen.query_one("#runs").row_count == 7, 120, "the table")
    await pilot.app.workers.wait_for_complete()


async def dialog_validated(pilot) -> None:
    await table_filled(pilot)
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, LaunchScreen), 120, "the dialog")
    status = pilot.app.screen.query_one("#config-status")
    await wait_until(pilot, lambda: "config ok" in str(status.content), 120, "validation")
    await pilot.app.workers.wait_for_complete()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_runs_table(workdir: Path, snap_compare) -> None:
    assert snap_compare(build(workdir), terminal_size=(80, 24), run_before=table_filled)


def test_launch_dialog_gpus(workdir: Path, snap_compare) -> None:
    assert snap_compare(build(workdir, gpus=True), terminal_size=(80, 24), run_before=dialog_validated)


def test_launch_dialog_cpu_only(workdir: Path, snap_compare) -> None:
    assert snap_compare(build(workdir, gpus=False), terminal_size=(80, 24), run_before=dialog_validated)


def test_help(workdir: Path, snap_compare) -> None:
    async def help_open(pilot) -> None:
        await table_filled(pilot)
        await pilot.press("question_mark")

    assert snap_compare(build(workdir), terminal_size=(80, 24), run_before=help_open)
