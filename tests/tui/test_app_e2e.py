"""End to end, keys only: real `torchx.train_pl` runs launched, stopped, killed and resumed from the TUI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest
from conftest import wait_until
from helpers import TINY, launch, make_app, row, run_processes, select, wait_status

from tui.screens.confirm import ConfirmScreen

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.usefixtures("reap_tmp")]
LONG = f"trainer_params.max_epochs=60 {TINY}"


async def confirm(pilot, app, key: str) -> None:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "a confirmation")
    await pilot.press("y")


async def test_launch_finish_stop_resume_kill(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    save = app.settings.save_dir
    async with app.run_test(size=(80, 24)) as pilot:
        await launch(pilot, app, "short", f"trainer_params.max_epochs=2 {TINY}")
        await wait_until(pilot, lambda: row(app, "short") is not None, 120, "the new run in the table")
        done = await wait_status(pilot, app, "short", "finished")
        assert done.epoch == 2 and done.metric is not None and done.metric[0] == "acc"

        await launch(pilot, app, "ddp", LONG, procs=2)  # two DDP ranks on the CPU
        await wait_status(pilot, app, "ddp", "running", min_epoch=1, timeout=600)
        assert len({p.pid for p in run_processes(save)}) >= 2
        await select(pilot, app, "ddp")
        await confirm(pilot, app, "s")
        stopped = await wait_status(pilot, app, "ddp", "stopped")
        assert (save / "ddp" / "ckpt" / "last.ckpt").is_file() and stopped.epoch < 60
        await wait_until(pilot, lambda: not run_processes(save), 120, "no process left after stop")

        await select(pilot, app, "ddp")
        await confirm(pilot, app, "r")
        await wait_status(pilot, app, "ddp", "running", timeout=600)
        await confirm(pilot, app, "K")
        lost = await wait_status(pilot, app, "ddp", "lost")
        assert lost.epoch < 60
        await wait_until(pilot, lambda: not run_processes(save), 120, "no process left after kill")

        await select(pilot, app, "ddp")
        await confirm(pilot, app, "r")
        finished = await wait_status(pilot, app, "ddp", "finished", timeout=600)
        assert finished.epoch == 60
        await wait_until(pilot, lambda: not run_processes(save), 120, "no process left after the end")


async def test_run_outlives_the_tui_and_a_new_tui_reattaches(tmp_path: Path) -> None:
    first = make_app(tmp_path)
    save = first.settings.save_dir
    async with first.run_test(size=(80, 24)) as pilot:
        await launch(pilot, first, "detached", LONG)
        await wait_status(pilot, first, "detached", "running", min_epoch=1)
        await pilot.press("q")
    assert first.return_code == 0
    events = save / "detached" / "events.jsonl"
    size = events.stat().st_size
    time.sleep(1.0)
    assert events.stat().st_size > size  # still training with no TUI
    trainer = psutil.Process(json.loads((save / "detached" / "run.json").read_text())["pid"])
    assert trainer.is_running()

    second = make_app(tmp_path)
    async with second.run_test(size=(80, 24)) as pilot:
        await wait_status(pilot, second, "detached", "running")
        await select(pilot, second, "detached")
        await confirm(pilot, second, "s")
        await wait_status(pilot, second, "detached", "stopped")
        await wait_until(pilot, lambda: not run_processes(save), 120, "no process left")
