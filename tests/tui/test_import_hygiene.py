"""`import tui` and starting the app must not import torch or lightning; logic modules not even Textual."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

from conftest import REPO

HEAVY = ("torch", "lightning", "pytorch_lightning", "torchvision")


def modules_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         check=True, timeout=60, stdin=subprocess.DEVNULL)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_tui_is_light() -> None:
    loaded = modules_after("import tui")
    assert not loaded & {*HEAVY, "textual"}


def logic_modules() -> list[str]:
    """Every module of tui/ but the Textual layer (the app, its messages, screens and widgets): found
    from the tree, so a new module is checked the day it lands."""
    ui = ("tui.app", "tui.messages", "tui.__main__", "tui.screens", "tui.widgets")
    found = [m.name for m in pkgutil.walk_packages([str(REPO / "tui")], "tui.")]
    return sorted(name for name in found if not name.startswith(ui))


def test_logic_modules_import_neither_torch_nor_textual() -> None:
    """They run in workers, in the fold worker processes and in bench/ without an app (import-linter
    checks the imports as written; this checks what importing them really loads)."""
    modules = logic_modules()
    assert {"tui.table.scanner", "tui.run.status", "tui.live.watch", "tui.text",
            "tui.queue.runner"} <= set(modules)
    loaded = modules_after(f"import {', '.join(modules)}")
    assert not loaded & {*HEAVY, "textual", "textual_plotext", "plotext"}


def test_app_start_imports_no_torch(tmp_path) -> None:
    code = f"""
import asyncio
from pathlib import Path
from tui.app import TorchxApp
from tui.settings import Settings

async def main():
    app = TorchxApp(Settings(save_dir=Path({str(tmp_path)!r}), configs_dir=Path("configs"), live=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()

asyncio.run(main())
"""
    loaded = modules_after(code)
    assert "textual" in loaded
    assert not loaded & {*HEAVY, "optuna"}  # Optuna is the sweeps' runner's and commands' alone


def test_command_line() -> None:
    out = subprocess.run([sys.executable, "-m", "tui", "--help"], cwd=REPO, capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0
    assert "--save-dir" in out.stdout and "--configs-dir" in out.stdout and "torchx-tui" in out.stdout


def test_the_queue_command_imports_neither_torch_nor_textual(tmp_path) -> None:
    """`torchx-tui queue` runs in scripts and cron jobs: a listing must not pay for torch or the app."""
    code = f"""
from tui.__main__ import main
try:
    main(["queue", "--save-dir", {str(tmp_path)!r}])
except SystemExit as exc:
    assert exc.code == 0, exc.code
"""
    loaded = modules_after(code)
    assert "tui.queue.cli" in loaded
    assert not loaded & {*HEAVY, "textual", "optuna"}


def test_the_queue_and_its_sweeps_listing_import_no_optuna() -> None:
    """The TUI's start asks `ensure_runner` and lists the queue and its sweeps: none of that may load
    Optuna (about half a second), which only the runner's sweep driver and the `sweep` commands need."""
    light = ("tui", "tui.queue.store", "tui.queue.devices", "tui.queue.runner", "tui.queue.cli",
             "tui.queue.sweeps.space", "tui.queue.sweeps.spec", "tui.queue.sweeps.trials")
    loaded = modules_after(f"import {', '.join(light)}")
    assert not loaded & {*HEAVY, "textual", "optuna"}
    assert "optuna" in modules_after("import tui.queue.sweeps.driver")  # the probe sees it when it is


def test_the_sweep_view_loads_optuna_only_in_its_worker() -> None:
    """The sweep screen and its data module import no Optuna: the view's worker imports `study` when it
    first reads (tests/tui/test_sweep_view.py opens one and sees Optuna load then)."""
    loaded = modules_after("import tui.screens.sweep, tui.queue.sweeps.view, tui.widgets.sweep_plot")
    assert "tui.screens.sweep" in loaded
    assert not loaded & {*HEAVY, "optuna", "sklearn"}
