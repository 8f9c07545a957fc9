"""Keys on the runs table against stand-in trainers (no torch): the stop grace period, NO_COLOR, help."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import FakeNvml, screen_text, wait_until
from helpers import make_app, open_launch, replace_text, row, run_processes, select, wait_status
from textual.widgets import SelectionList, Static

from torchx import experiment
from tui.launch import backends
from tui.launch.local import Launcher
from tui.launch.request import LaunchRequest
from tui.run.processes import group_members
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.system.gpus import GpuSampler
from tui.widgets.gpu_picker import GpuPicker

FAKE = Path(__file__).with_name("fake_trainer.py")
pytestmark = pytest.mark.usefixtures("reap_tmp")


async def test_stop_that_does_not_end_offers_kill(tmp_path: Path) -> None:
    env = {**os.environ, "FAKE_IGNORE_SIGINT": "1"}
    app = make_app(tmp_path, stop_grace_s=1.0, launcher=Launcher(entry=(sys.executable, str(FAKE)), env=env))
    save = app.settings.save_dir
    app.settings.launcher.launch(LaunchRequest(Path("x.yaml"), "stuck", save))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_status(pilot, app, "stuck", "running", min_epoch=1, timeout=600)
        await select(pilot, app, "stuck")
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "stop confirmation")
        await pilot.press("y")
        # the first confirmation may still be on screen for a frame: wait for the second one's text
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                         and "still running" in screen_text(app), 120, "the kill offer")
        await pilot.press("y")
        await wait_status(pilot, app, "stuck", "lost", timeout=600)
        await wait_until(pilot, lambda: not run_processes(save), 120, "no process left")


async def test_cancel_keeps_the_run_and_refusals_explain(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ui_reads: list[Path] = []

    def read_json(path: Path) -> object:  # the real read, remembering reads on the UI thread
        if threading.current_thread() is threading.main_thread():
            ui_reads.append(path)
        return experiment.read_json(path)

    monkeypatch.setattr(backends, "read_json", read_json)
    app = make_app(tmp_path, launcher=Launcher(entry=(sys.executable, str(FAKE))))
    app.settings.launcher.launch(LaunchRequest(Path("x.yaml"), "alive", app.settings.save_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_status(pilot, app, "alive", "running", min_epoch=1, timeout=600)
        await select(pilot, app, "alive")
        for key, cancel in (("s", "n"), ("K", "escape")):
            await pilot.press(key)
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "a confirmation")
            if key == "K":
                await wait_until(pilot, lambda: "SIGKILL to every" in screen_text(app), 120, "the kill note")
                assert not ui_reads  # the note comes from the scanner's run.json, read off the UI thread
            await pilot.press(cancel)
        await pilot.press("r")  # a running run cannot be resumed: said, not asked
        notes = lambda: [n.message for n in app._notifications]  # noqa: E731
        await wait_until(pilot, lambda: "cannot resume 'alive': it is running" in notes(), 120, "the refusal")
        assert not isinstance(app.screen, ConfirmScreen)
        assert row(app, "alive").status == "running" and run_processes(app.settings.save_dir)


async def test_help_lists_the_screen_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), 120, "help")
        text = screen_text(app)
        for key, what in (("n", "New run"), ("s", "Stop"), ("K", "Kill"), ("r", "Resume"), ("q", "Quit")):
            assert f"{key}  {what}" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_no_color(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path)
    assert app.no_color  # Textual renders monochrome; the status symbols still tell runs apart
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "n New run" in screen_text(app)


async def test_gpu_picker_is_live_and_sampled_off_the_ui_thread(tmp_path: Path) -> None:
    class Changing(FakeNvml):
        """Utilisation goes up by one per reading; remembers which threads read it."""

        def __init__(self) -> None:
            super().__init__(count=2)
            self.reads, self.threads = 0, set()

        def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:
            self.reads += 1
            self.threads.add(threading.current_thread().name)
            return SimpleNamespace(gpu=self.reads % 100, memory=0)

    nvml = Changing()
    ok = (sys.executable, "-c", "import sys; sys.exit(0)")
    app = make_app(tmp_path, gpu_interval_s=0.25, check_entry=ok,
                   launcher=Launcher(entry=(sys.executable, str(FAKE))))
    app.settings.sampler_factory = lambda: GpuSampler(nvml)
    run_json = app.settings.save_dir / "ongpus" / "run.json"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app, "digits.yaml")
        picker = screen.query_one(GpuPicker)
        await wait_until(pilot, lambda: picker.has_gpus is True, 120, "the GPU list")
        gpu_list = picker.query_one("#gpu-list", SelectionList)
        label = lambda: str(gpu_list.get_option_at_index(0).prompt)  # noqa: E731
        first = label()
        await wait_until(pilot, lambda: label() != first, 120, "a new reading")
        assert nvml.threads and threading.main_thread().name not in nvml.threads
        await replace_text(pilot, app, "name", "ongpus")
        status = screen.query_one("#config-status", Static)
        await wait_until(pilot, lambda: "config ok" in str(status.content), 120, "validation")
        await pilot.press("enter")
        await wait_until(pilot, run_json.exists, 120, "the launch")
    argv = json.loads(run_json.read_text())["argv"]
    assert argv[argv.index("--gpu") + 1] == "0"  # GPU 0 is preselected


async def test_odd_names_show_literally_and_long_names_sort(tmp_path: Path) -> None:
    from helpers import table
    from rundirs import T0, make_run

    app = make_app(tmp_path)
    save = app.settings.save_dir
    (save / "[bold]odd").mkdir()
    for i in range(3):
        make_run(save, f"a-very-long-config-name-for-sorting-2026112{i}-000000", "finished", t=T0 + i)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 4, 120, "the table")
        assert "[bold]odd" in screen_text(app)
        order = [table(app).coordinate_to_cell_key((i, 0)).row_key.value for i in range(4)]
        assert order == [f"a-very-long-config-name-for-sorting-2026112{i}-000000" for i in (2, 1, 0)] + [
            "[bold]odd"]


async def test_kill_a_lost_run_whose_worker_lingers(tmp_path: Path) -> None:
    app = make_app(tmp_path, launcher=Launcher(entry=(sys.executable, str(FAKE))))
    save = app.settings.save_dir
    app.settings.launcher.launch(LaunchRequest(Path("x.yaml"), "half", save))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_status(pilot, app, "half", "running", min_epoch=1, timeout=600)
        record = json.loads((save / "half" / "run.json").read_text())
        os.kill(record["pid"], 9)  # rank 0 alone dies
        await wait_status(pilot, app, "half", "lost", timeout=600)
        members = lambda: group_members(save / "half", record["pgid"])  # noqa: E731
        assert members()  # its worker lingers
        await select(pilot, app, "half")
        await pilot.press("K")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "kill confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: not members(), 120, "no process left")
