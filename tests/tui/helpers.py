"""Keyboard-only drivers for the app under Textual's pilot."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from conftest import REPO, FakeNvml, NoDriverNvml, wait_until

from tui.app import TorchxApp
from tui.screens.launch import LaunchScreen
from tui.screens.runs import RunsScreen
from tui.settings import Settings
from tui.system.gpus import GpuSampler
from tui.table.rows import RunRow
from tui.widgets.gpu_picker import GpuPicker
from tui.widgets.runs_table import RunsTable

DIGITS = REPO / "configs" / "digits-classification.yaml"
TINY = ("trainer_params.limit_val_batches=2 trainer_params.log_every_n_steps=1 "
        "trainer_params.enable_model_summary=false")


def configs_dir(tmp_path: Path) -> Path:
    """A configs dir with the shipped default, a malformed file and an unknown model."""
    configs = tmp_path / "configs"
    configs.mkdir()
    shutil.copy(DIGITS, configs / "digits.yaml")
    (configs / "broken.yaml").write_text("data_module: {name: digits\ntrain_wrapper: [\n")
    text = DIGITS.read_text().replace("name: mlp", "name: nosuchmodel")
    (configs / "unknown-model.yaml").write_text(text)
    return configs


def make_app(tmp_path: Path, gpus: int = 0, **kwargs: object) -> TorchxApp:
    nvml = FakeNvml(gpus) if gpus else NoDriverNvml()
    settings = Settings(save_dir=tmp_path / "save", configs_dir=tmp_path / "configs", refresh_s=0.25,
                        cache_dir=tmp_path / "cache",
                        sampler_factory=lambda: GpuSampler(nvml), **kwargs)  # type: ignore[arg-type]
    (tmp_path / "save").mkdir(exist_ok=True)
    if not settings.configs_dir.exists():
        configs_dir(tmp_path)
    return TorchxApp(settings)


def table(app: TorchxApp) -> RunsTable:
    screen = next(s for s in app.screen_stack if isinstance(s, RunsScreen))
    return screen.query_one(RunsTable)


def row(app: TorchxApp, name: str) -> RunRow | None:
    return table(app).runs.get(name)


async def wait_status(pilot, app: TorchxApp, name: str, status: str, timeout: float = 120.0,
                      min_epoch: int = 0) -> RunRow:
    def reached() -> bool:
        r = row(app, name)
        return r is not None and r.status == status and (r.epoch or 0) >= min_epoch

    await wait_until(pilot, reached, timeout, f"{name} to be {status}")
    return row(app, name)  # type: ignore[return-value]


async def focus(pilot, app: TorchxApp, widget_id: str) -> None:
    """Tab until the widget has focus, as a user would."""
    for _ in range(12):
        if app.focused is not None and app.focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached #{widget_id}")


async def replace_text(pilot, app: TorchxApp, widget_id: str, text: str) -> None:
    await focus(pilot, app, widget_id)
    await pilot.press("end", "ctrl+u", *text)


async def open_launch(pilot, app: TorchxApp, config: str = "digits.yaml") -> LaunchScreen:
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen), 120, "the launch dialog")
    screen = app.screen
    assert isinstance(screen, LaunchScreen)
    await wait_until(pilot, lambda: screen.config is not None, 120, "a highlighted config")
    while screen.config is not None and screen.config.name != config:
        await focus(pilot, app, "configs")
        await pilot.press("down")
    return screen


async def launch(pilot, app: TorchxApp, name: str, overrides: str, procs: int = 1,
                 config: str = "digits.yaml") -> None:
    """`n`, pick the config, set devices, name and overrides, `enter`; wait for the dialog to close."""
    screen = await open_launch(pilot, app, config)
    if procs != 1:
        picker = screen.query_one(GpuPicker)
        await wait_until(pilot, lambda: picker.has_gpus is False, 120, "the CPU choice")
        await replace_text(pilot, app, "procs", str(procs))
    await replace_text(pilot, app, "name", name)
    await replace_text(pilot, app, "overrides", overrides)
    await pilot.press("enter")
    await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), 120, f"{name} to launch")


async def select(pilot, app: TorchxApp, name: str) -> None:
    """Move the table cursor to `name` with the arrow keys."""
    t = table(app)
    assert app.focused is t, f"the table should have focus, not {app.focused}"
    for _ in range(2 * t.row_count + 2):
        if t.selected_name == name:
            return
        await pilot.press("down" if t.cursor_row < t.get_row_index(name) else "up")
    assert t.selected_name == name


async def open_on(pilot, app: TorchxApp, name: str, key: str, kind: type, ready: Callable[[Any], object],
                  what: str) -> Any:
    """Select run `name`, press `key`, and wait for a `kind` screen and then for `ready(screen)`."""
    await select(pilot, app, name)
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, kind), 120, what)
    screen = app.screen
    await wait_until(pilot, lambda: ready(screen), 120, f"{what}: its content")
    return screen


def run_processes(save_dir: Path) -> list[psutil.Process]:
    """Every live process whose command line mentions this test's save dir (ranks, workers, ...)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(save_dir) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found
