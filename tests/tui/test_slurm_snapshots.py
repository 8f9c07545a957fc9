"""Snapshot at 80x24 of the launch dialog with the Slurm backend chosen (nothing is submitted)."""

from __future__ import annotations

from pathlib import Path

from snapshot_app import build
from test_snapshots import dialog_validated
from textual.widgets import Input

from tui.launch.slurm import SlurmLauncher


def test_launch_dialog_slurm(workdir: Path, snap_compare) -> None:
    async def slurm_chosen(pilot) -> None:
        await dialog_validated(pilot)
        for _ in range(2):  # configs → preview → backend
            await pilot.press("tab")
        await pilot.press("right", "enter", "tab", *"debug", "tab", *"1:00:00")
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    app = build(workdir, gpus=False)
    app.settings.slurm = SlurmLauncher()
    assert snap_compare(app, terminal_size=(80, 24), run_before=slurm_chosen)
