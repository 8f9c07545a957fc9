"""`import tui` and starting the app must not import torch or lightning; logic modules not even Textual."""

from __future__ import annotations

import json
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


def test_logic_modules_import_neither_torch_nor_textual() -> None:
    loaded = modules_after("import tui.runs, tui.launcher, tui.gpus, tui.configs, tui.settings, "
                           "tui.diff, tui.compare, tui.backends, tui.slurm, tui.query, tui.run_facts, "
                           "tui.tidy, tui.fork, tui.fold_workers")
    assert not loaded & {*HEAVY, "textual"}


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
    assert not loaded & set(HEAVY)


def test_command_line() -> None:
    out = subprocess.run([sys.executable, "-m", "tui", "--help"], cwd=REPO, capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0
    assert "--save-dir" in out.stdout and "--configs-dir" in out.stdout and "torchx-tui" in out.stdout
