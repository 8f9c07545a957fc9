"""Keys that do not surprise, in the launch dialog: focus and the backend read without colour
(`NO_COLOR`), a fork keeps its run's devices, and `n` starts on the config launched last (else the
README's default). Through the real app at 80x24."""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from conftest import screen_text, wait_until
from helpers import DIGITS, configs_dir, focus, make_app, open_launch, replace_text
from rundirs import make_run
from test_fork import OK, OVERRIDES, fork
from textual.widgets import Input, SelectionList

from torchx.config import dump_config, load_config
from tui.launch import recent
from tui.launch.local import Launcher
from tui.launch.request import LaunchRequest
from tui.launch.slurm import SlurmLauncher, SlurmSpec
from tui.screens.launch import LaunchScreen
from tui.widgets.gpu_picker import GpuPicker

QUIT = (sys.executable, "-c", "import sys; sys.exit(0)")
"""An entry that starts and leaves at once: enough for a launch to be recorded."""
pytestmark = pytest.mark.usefixtures("reap_tmp")


def marked(app) -> list[str]:
    """What the focus mark stands before on screen, to the end of its line."""
    return [line.rstrip("│ ") for line in re.findall(r"▸ .*", screen_text(app))]


async def dialog(pilot, app) -> LaunchScreen:
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen), 120, "the launch dialog")
    screen = app.screen
    assert isinstance(screen, LaunchScreen)
    await wait_until(pilot, lambda: screen.config is not None, 120, "a highlighted config")
    await wait_until(pilot, lambda: screen.query_one(GpuPicker).has_gpus is not None, 120, "the devices")
    await pilot.pause()
    return screen


async def test_the_focused_field_is_marked_without_colour(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Under NO_COLOR a focus shown by colour alone would vanish: `▸` moves with tab and shift+tab."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path, slurm=SlurmLauncher())
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        await dialog(pilot, app)
        assert app.focused is not None and app.focused.id == "configs"
        assert len(marked(app)) == 1 and marked(app)[0].startswith("▸ broken.yaml ")
        await pilot.press("tab")  # the preview: a bar beside it, the chosen config keeps a mark
        assert app.focused is not None and app.focused.id == "preview"
        assert marked(app) == []
        assert "• broken.yaml" in screen_text(app) and "▌data_module" in screen_text(app)
        for field, label in (("backend", "▸ backend"), ("procs", "▸ CPU processes (DDP): 1"),
                             ("name", "▸ name"), ("overrides", "▸ overrides")):
            await pilot.press("tab")
            assert app.focused is not None and app.focused.id == field
            assert len(marked(app)) == 1 and marked(app)[0].startswith(label), marked(app)
        assert "▌data_module" not in screen_text(app)
        await pilot.press("shift+tab")
        assert len(marked(app)) == 1 and marked(app)[0].startswith("▸ name ")


async def test_the_chosen_backend_reads_without_colour(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path, slurm=SlurmLauncher())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await dialog(pilot, app)
        assert "▐●▌ local   ▐ ▌ slurm" in screen_text(app) and not screen.on_slurm
        await focus(pilot, app, "backend")
        await pilot.press("right", "enter")
        await wait_until(pilot, lambda: screen.on_slurm, 120, "the Slurm backend")
        await pilot.pause()
        assert "▐ ▌ local   ▐●▌ slurm" in screen_text(app)
        assert "partition" in screen_text(app)


# ---- the config launched last ----


async def test_the_dialog_starts_on_the_config_launched_last(tmp_path: Path) -> None:
    """First the README's default (not the alphabetically first file); after a launch, that config, in
    this session and the next; a damaged memory is no memory."""
    configs = configs_dir(tmp_path)
    shutil.copy(DIGITS, configs / recent.DEFAULT_CONFIG)  # broken.yaml comes first alphabetically
    app = make_app(tmp_path, check_entry=OK, launcher=Launcher(entry=QUIT))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await dialog(pilot, app)
        assert screen.config == configs / recent.DEFAULT_CONFIG
        await pilot.press("escape")
        screen = await open_launch(pilot, app, "digits.yaml")
        await replace_text(pilot, app, "name", "picked")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), 120, "the launch")
        assert (app.settings.save_dir / "picked" / "run.json").exists()
        screen = await dialog(pilot, app)
        assert screen.config == configs / "digits.yaml"
        assert "▸ digits.yaml" in screen_text(app)

    again = make_app(tmp_path, check_entry=OK)  # the next session, on the same cache dir
    async with again.run_test(size=(80, 24)) as pilot:
        screen = await dialog(pilot, again)
        assert screen.config == configs / "digits.yaml"

    (tmp_path / "cache" / recent.LAST_LAUNCH_FILE).write_text("{damaged")
    damaged = make_app(tmp_path, check_entry=OK)
    async with damaged.run_test(size=(80, 24)) as pilot:
        screen = await dialog(pilot, damaged)
        assert screen.config == configs / recent.DEFAULT_CONFIG


def test_the_memory_tolerates_what_it_cannot_use(tmp_path: Path) -> None:
    configs = [tmp_path / name for name in ("a.yaml", recent.DEFAULT_CONFIG, "z.yaml")]
    cache = tmp_path / "cache"
    assert recent.recall(cache) is None and recent.recall(None) is None
    assert recent.initial_index(configs, None) == 1
    assert recent.initial_index(configs[::2], None) == 0
    recent.remember(cache, configs[2])
    assert recent.initial_index(configs, recent.recall(cache)) == 2
    assert recent.initial_index(configs, tmp_path / "gone.yaml") == 1
    for text in ("[1, 2]", '{"config": 3}', "\0\0", ""):
        (cache / recent.LAST_LAUNCH_FILE).write_text(text)
        assert recent.recall(cache) is None
    (cache / recent.LAST_LAUNCH_FILE).unlink()
    (cache / recent.LAST_LAUNCH_FILE).mkdir()
    recent.remember(cache, configs[0])  # cannot be written: silently nothing
    assert recent.recall(cache) is None
    blocked = tmp_path / "file"
    blocked.write_text("")
    recent.remember(blocked / "cache", configs[0])
    recent.remember(None, configs[0])


# ---- a fork keeps its run's devices ----


def source_run(save: Path, configs: Path, name: str, gpus: tuple[int, ...], procs: int) -> Path:
    """A run the TUI launched from configs/digits.yaml with two overrides on these devices."""
    run = make_run(save, name, "finished")
    request = LaunchRequest(configs / "digits.yaml", name, save, gpus, procs, tuple(OVERRIDES))
    flags, device_overrides = request.device_args()
    argv = [sys.executable, "-m", "torchx.train_pl", "--config", str(request.config), "--name", name,
            "--save-dir", str(save), *flags, *device_overrides, *OVERRIDES]
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "argv": argv, "gpus": request.gpus_label()}))
    (run / "config.yaml").write_text(dump_config(load_config(request.config, device_overrides + OVERRIDES)))
    return run


@pytest.mark.parametrize(("machine_gpus", "gpus", "procs", "label"), [
    (0, (), 2, "cpu×2"),
    (2, (1,), 1, "1"),
    (2, (), 2, "cpu×2"),
], ids=["cpu-on-cpu", "gpu-on-gpus", "cpu-on-gpus"])
async def test_a_fork_keeps_its_runs_devices(tmp_path: Path, machine_gpus: int, gpus: tuple[int, ...],
                                             procs: int, label: str) -> None:
    """On this machine's picker: the run's GPUs, or no GPU and its CPU processes (shown, even beside
    GPUs); a launch without touching them launches on the same devices."""
    app = make_app(tmp_path, gpus=machine_gpus, check_entry=OK, launcher=Launcher(entry=QUIT), slurm=None)
    source_run(app.settings.save_dir, app.settings.configs_dir, "source", gpus, procs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await fork(pilot, app, "source")
        assert screen.config == app.settings.configs_dir / "digits.yaml"
        picker = screen.query_one(GpuPicker)
        await wait_until(pilot, lambda: picker.has_gpus is not None, 120, "the devices")
        await pilot.pause()
        if picker.has_gpus:
            assert screen.query_one("#gpu-list", SelectionList).selected == list(gpus)
        if not gpus:
            assert f"CPU processes (DDP): {procs}" in screen_text(app)
        name = screen.query_one("#name", Input).value
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), 120, "the launch")
    record = json.loads((app.settings.save_dir / name / "run.json").read_text())
    assert record["gpus"] == label


async def test_a_fork_of_a_slurm_run_starts_on_slurm_with_its_fields(tmp_path: Path) -> None:
    app = make_app(tmp_path, check_entry=OK, slurm=SlurmLauncher())
    run = source_run(app.settings.save_dir, app.settings.configs_dir, "on-slurm", (), 1)
    spec = SlurmSpec(nodes=2, tasks_per_node=4, gpus_per_node=4, partition="gpu", time_limit="1:00:00",
                     extra=["--mem=8G"])
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "backend": "slurm", "slurm": asdict(spec)}))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await fork(pilot, app, "on-slurm")
        await wait_until(pilot, lambda: screen.on_slurm, 120, "the Slurm backend")
        fields = {field.id: field.value for field in screen.query("#slurm Input").results(Input)}
        assert fields == {"partition": "gpu", "time-limit": "1:00:00", "nodes": "2", "gpus-per-node": "4",
                          "tasks-per-node": "4", "cpus-per-task": "", "sbatch-extra": "--mem=8G"}
        assert screen.query_one("#slurm").display and not screen.query_one(GpuPicker).display
