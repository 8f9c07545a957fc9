"""Sweeps from the launch dialog, keys only at 80x24: `sweep` ticked, a space typed, `enter` makes the
sweep (its `sweep.json` and journal) and a real runner runs its trials with the queue tests' quick
stand-in trainer; a bad space, or a point the framework refuses, is one line naming it and writes
nothing; the preview says what the sweep will do, and a grid ignores the trials field."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import REPO, wait_until
from helpers import focus, make_app, open_launch, replace_text, wait_status
from snapshot_app import build
from textual.widgets import Input

from tui.launch.local import Launcher
from tui.queue import store
from tui.queue.sweeps.spec import load_sweep, sweeps_dir
from tui.screens.launch import LaunchScreen

pytestmark = [pytest.mark.timeout(600), pytest.mark.usefixtures("reap_tmp")]
QUICK = (sys.executable, str(REPO / "tests" / "queue" / "quick_trainer.py"))
CHECK_OK = (sys.executable, "-c", "import sys; sys.exit(0)")
LR = "train_wrapper.args.optim_spec.args.lr"
LIMIT_S = 180


def quick_app(tmp_path: Path, **kwargs: object):
    """The app with the quick stand-in trainer and a framework check that always passes (the
    structure check still runs in-process)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TORCHX_")}, "QUICK_S": "0.3"}
    kwargs.setdefault("check_entry", CHECK_OK)
    return make_app(tmp_path, launcher=Launcher(entry=QUICK, env=env), **kwargs)


def status(screen: LaunchScreen) -> str:
    return str(screen.query_one("#config-status").content)


def preview(screen: LaunchScreen) -> str:
    return str(screen.query_one("#sweep-preview").content)


async def sweep_dialog(pilot, app, name: str, space: str) -> LaunchScreen:
    """`n`, the digits config, the name, `sweep` ticked (space: the name typed stays), the space typed."""
    screen = await open_launch(pilot, app, "digits.yaml")
    await replace_text(pilot, app, "name", name)
    await focus(pilot, app, "sweep")
    await pilot.press("space")
    await wait_until(pilot, lambda: screen.sweeping, 60, "the sweep box ticked")
    await replace_text(pilot, app, "sweep-space", space)
    return screen


async def back_to(pilot, app, widget_id: str) -> None:
    """Shift+tab back to a field above."""
    for _ in range(12):
        if app.focused is not None and app.focused.id == widget_id:
            return
        await pilot.press("shift+tab")
    raise AssertionError(f"shift+tab never reached #{widget_id}")


async def retype_back(pilot, app, widget_id: str, text: str) -> None:
    await back_to(pilot, app, widget_id)
    await pilot.press("end", "ctrl+u", *text)


async def refused(pilot, app, screen: LaunchScreen, because: str) -> None:
    """`enter`: the reason is one line, the dialog stays, nothing is written."""
    await pilot.press("enter")
    await wait_until(pilot, lambda: not screen._busy and because in status(screen), LIMIT_S, because)
    assert app.screen is screen and status(screen).startswith("✘ ") and "\n" not in status(screen)
    save = app.settings.save_dir
    assert not sweeps_dir(save).exists() and os.listdir(save) == []


async def test_a_grid_typed_in_the_dialog_is_made_and_its_runs_are_run(tmp_path: Path) -> None:
    app = quick_app(tmp_path)
    save = app.settings.save_dir
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await sweep_dialog(pilot, app, "s", "seed=1,2")
        await replace_text(pilot, app, "sweep-parallel", "2")
        said = "2 runs (grid 2), cpu each, 2 at a time on the CPU"
        await wait_until(pilot, lambda: preview(screen) == said, 60, "the preview")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), LIMIT_S, "the sweep")
        assert "sweep s: 2 runs (grid 2), cpu each, 2 at a time, queued" in [n.message for n in
                                                                            app._notifications]
        record = json.loads((save / ".sweeps" / "s" / "sweep.json").read_text())
        assert record["space"] == {"seed": "1,2"}
        assert (record["sampler"], record["trials"], record["parallel"]) == ("grid", 2, 2)
        assert (record["metric"], record["mode"]) == ("val/acc", "max")  # the config's checkpoint
        assert record["request"]["config"] == str((tmp_path / "configs" / "digits.yaml").resolve())
        assert record["prune"] is None and record["request"]["cpu_processes"] == 1
        for name in ("s-0", "s-1"):  # queued by the runner the dialog started, one trial a point
            await wait_status(pilot, app, name, "finished", timeout=LIMIT_S)
        await wait_until(pilot, lambda: load_sweep(save, "s").done, LIMIT_S, "the sweep to be done")
    overrides = {tuple(json.loads((save / n / "run.json").read_text())["queued"]["request"]["overrides"])
                 for n in ("s-0", "s-1")}
    assert overrides == {("seed=1",), ("seed=2",)}


@pytest.mark.parametrize(("space", "named"), [
    ("lr=loguniform(1,0)", "space 'lr=loguniform(1,0)': low 1 must be below high 0"),
    ("seed=logunifrom(1,9)", "unknown function 'logunifrom' (did you mean loguniform?)"),
    ("lr=abc(", "lr=abc(: "),
    ("seed=1,,2", "space 'seed=1,,2': an empty choice"),
])
async def test_a_bad_space_is_one_line_naming_it_and_writes_nothing(tmp_path: Path, space: str,
                                                                     named: str) -> None:
    app = quick_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await sweep_dialog(pilot, app, "bad", space)
        await refused(pilot, app, screen, named)


async def test_a_swept_key_also_overridden_and_a_taken_name_are_refused(tmp_path: Path) -> None:
    app = quick_app(tmp_path)
    save = app.settings.save_dir
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await sweep_dialog(pilot, app, "s", "seed=1,2")
        await retype_back(pilot, app, "overrides", "seed=3")
        await refused(pilot, app, screen, "override 'seed=3': its key is swept (space)")
        await retype_back(pilot, app, "overrides", "")
        (save / "s-0").mkdir()  # a run named as the sweep's first trial
        await retype_back(pilot, app, "name", "s")
        name_status = screen.query_one("#name-status")
        await wait_until(pilot, lambda: "run 's-0' already exists" in str(name_status.content), 60,
                         "the name's problem")
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.screen is screen and not sweeps_dir(save).exists()


@pytest.mark.slow
async def test_a_grid_point_the_framework_refuses_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    """The real check (one warm process for every point): a misspelt Trainer key, and one bad choice of
    an otherwise good grid."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await sweep_dialog(pilot, app, "bad", "trainer_params.max_epoch=1,2")
        await refused(pilot, app, screen, "trainer_params.max_epoch=1: ")
        assert "unexpected argument 'max_epoch'" in status(screen)
        await replace_text(pilot, app, "sweep-space", f"seed=1,2 {LR}=1e-3,abc")
        await refused(pilot, app, screen, f"seed=1 {LR}=abc: ")
        assert "expected a number" in status(screen)


async def test_the_preview_of_a_3x2_grid_and_trials_only_off_the_grid(tmp_path: Path) -> None:
    """Four GPUs, GPU 0 picked: one GPU a trial, on GPUs 0–3. The trials field is disabled for a grid
    and its number unused: the grid's size is the sweep's trials."""
    app = quick_app(tmp_path, gpus=4)
    save = app.settings.save_dir
    store.pause(save)  # nothing launches: this test looks at the files
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await sweep_dialog(pilot, app, "g", "seed=1,2,3 trainer_params.max_epochs=1,2")
        await replace_text(pilot, app, "sweep-parallel", "4")
        await wait_until(pilot, lambda: preview(screen) == "6 runs (grid 3×2), 1 GPU each, 4 at a time on "
                         "GPUs 0–3", 60, "the grid's preview")
        trials = screen.query_one("#sweep-trials", Input)
        assert trials.disabled
        await back_to(pilot, app, "sweep-sampler")
        await pilot.press("right", "right", "enter")  # grid → tpe
        await wait_until(pilot, lambda: not trials.disabled, 60, "the trials field")
        await replace_text(pilot, app, "sweep-trials", "5")
        await wait_until(pilot, lambda: preview(screen).startswith("5 runs (tpe), 1 GPU each"), 60, "tpe")
        await back_to(pilot, app, "sweep-sampler")
        await pilot.press("left", "left", "enter")  # back to grid: 5 stays typed, unused
        await wait_until(pilot, lambda: trials.disabled and preview(screen).startswith("6 runs (grid 3×2)"),
                         60, "the grid again")
        assert trials.value == "5"
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), LIMIT_S, "the sweep")
    sweep = load_sweep(save, "g")
    assert (sweep.sampler, sweep.trials, sweep.parallel, sweep.gpus) == ("grid", 6, 4, 1)
    assert sweep.space.record() == {"seed": "1,2,3", "trainer_params.max_epochs": "1,2"}


async def test_a_range_picks_tpe_and_needs_trials(tmp_path: Path) -> None:
    app = quick_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await sweep_dialog(pilot, app, "t", f"{LR}=loguniform(1e-5, 1e-2)")
        why = "trials: how many trials should the tpe sampler run?"
        await wait_until(pilot, lambda: why in preview(screen), 60, "the preview's problem")
        await refused(pilot, app, screen, why)


def test_snapshot_of_the_sweep_fields(workdir: Path, snap_compare) -> None:
    async def typed(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.screen.query_one("#runs").row_count == 7, 120, "the table")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen), 120, "the dialog")
        await focus(pilot, app, "sweep")
        await pilot.press("space")
        await replace_text(pilot, app, "sweep-space", "seed=1,2,3 trainer_params.max_epochs=1,2")
        config_status = app.screen.query_one("#config-status")
        await wait_until(pilot, lambda: "config ok" in str(config_status.content), 120, "validation")
        await app.workers.wait_for_complete()
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(build(workdir, gpus=True), terminal_size=(80, 24), run_before=typed)
