"""The launch dialog offers the Slurm backend only where `sbatch` is on the PATH; without it the dialog
and the local launch are unchanged."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import screen_text, wait_until
from helpers import make_app, open_launch, replace_text, wait_status

from tui.launch.local import Launcher
from tui.screens.launch import LaunchScreen

FAKE = Path(__file__).with_name("fake_trainer.py")
CHECK_OK = (sys.executable, "-c", "import sys; sys.exit(0)")
pytestmark = pytest.mark.usefixtures("reap_tmp")


def path_with(tmp_path: Path, *commands: str) -> str:
    """A PATH directory holding only `commands` (scripts that exit 1: they are never run here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in commands:
        (bin_dir / command).write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / command).chmod(0o755)
    return str(bin_dir)


async def test_without_sbatch_no_backend_choice_and_local_launch_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_with(tmp_path))
    app = make_app(tmp_path, check_entry=CHECK_OK, launcher=Launcher(entry=(sys.executable, str(FAKE))))
    assert app.settings.slurm is None
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app)
        assert not screen.query("#backend") and not screen.query("#slurm")
        assert "backend" not in screen_text(app) and "partition" not in screen_text(app)
        await replace_text(pilot, app, "name", "here")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), 120, "the launch")
        await wait_status(pilot, app, "here", "running", timeout=600, min_epoch=1)
    record = json.loads((app.settings.save_dir / "here" / "run.json").read_text())
    assert record["backend"] == "local" and "job_id" not in record
    assert not (app.settings.save_dir / "here" / "slurm.sbatch").exists()


async def test_with_sbatch_the_dialog_offers_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_with(tmp_path, "sbatch"))
    app = make_app(tmp_path, check_entry=CHECK_OK)
    assert app.settings.slurm is not None
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app)
        assert "backend" in screen_text(app) and not screen.on_slurm
        assert screen.query_one("#slurm").display is False
