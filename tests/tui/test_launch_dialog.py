"""Bad input in the launch dialog is refused with a reason and launches nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psutil
import pytest
from conftest import screen_text, wait_until
from helpers import focus, make_app, open_launch, replace_text
from rundirs import make_run

from tui.screens.confirm import ConfirmScreen
from tui.screens.launch import LaunchScreen


def message(screen: LaunchScreen) -> str:
    return " ".join(str(screen.query_one(f"#{i}").content) for i in ("config-status", "name-status"))


async def refused(pilot, app, screen: LaunchScreen, because: str, timeout: float = 60.0) -> None:
    """The reason is shown before and after `enter`, the dialog stays, nothing was started."""
    await wait_until(pilot, lambda: because in message(screen), timeout, because)
    await pilot.press("enter")
    await wait_until(pilot, lambda: not screen._busy, timeout, "the launch attempt")
    assert app.screen is screen and because in message(screen)
    assert because.split()[0] in screen_text(app)
    assert app.settings.launcher.children == []
    assert sorted(os.listdir(app.settings.save_dir)) == ["taken"]


@pytest.mark.slow
async def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    taken = make_run(app.settings.save_dir, "taken", "stopped")
    (taken / "config.yaml").write_text("trainer_params: {max_epochs: 10}\n")  # resumable: offered as such
    (taken / "ckpt").mkdir()
    (taken / "ckpt" / "last.ckpt").write_bytes(b"w")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.screen.query_one("#runs").row_count == 1, 120, "the table")
        screen = await open_launch(pilot, app, "broken.yaml")
        await replace_text(pilot, app, "name", "fresh")
        await refused(pilot, app, screen, "malformed YAML")

        await pilot.press("escape")
        screen = await open_launch(pilot, app, "unknown-model.yaml")
        await replace_text(pilot, app, "name", "fresh")
        await refused(pilot, app, screen, "nosuchmodel")

        await pilot.press("escape")
        screen = await open_launch(pilot, app, "digits.yaml")
        for name, because in (("a/b", "must not contain"), ("..", "must not contain"),
                              ("x..y", "must not contain"), ("", "run name is empty"),
                              ("taken", "already exists")):
            await replace_text(pilot, app, "name", name)
            await refused(pilot, app, screen, because)
        assert "ctrl+r resumes it" in message(screen)

        await replace_text(pilot, app, "name", "fresh")
        for overrides, because in (("trainer_params.max_epochs=abc", "must be a positive integer"),
                                   ("oops", "expected key.path=value"),
                                   ("nosuch.key=1", "unknown top-level key"),
                                   ("train_wrapper.args.model_spec.name=nope", "nope")):
            await replace_text(pilot, app, "overrides", overrides)
            await refused(pilot, app, screen, because)

        await replace_text(pilot, app, "name", "taken")
        await pilot.press("ctrl+r")  # the existing name: offered as a resume, which asks first
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "resume confirmation")
        await pilot.press("n")
        assert app.settings.launcher.children == []


@pytest.mark.slow
async def test_the_full_check_refuses_what_the_entry_would(tmp_path: Path) -> None:
    """A misspelt Trainer argument and an ill-typed optimizer argument pass the structure check but
    would fail the entry: the dialog's checker (one warm process) refuses both in one line."""
    app = make_app(tmp_path)
    make_run(app.settings.save_dir, "taken", "stopped")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app, "digits.yaml")
        await replace_text(pilot, app, "name", "fresh")
        await wait_until(pilot, lambda: "✔ config ok" in message(screen), 120, "the shipped config's verdict")
        server = screen._checker._server
        for overrides, reason in (
                ("trainer_params.max_epoch=3", "digits.yaml: trainer_params.max_epoch: 3: pytorch_lightning."
                 "Trainer: unexpected argument 'max_epoch' (did you mean 'max_epochs'?)"),
                ("train_wrapper.args.optim_spec.args.lr=abc", "digits.yaml: train_wrapper.args.optim_spec."
                 "args.lr: 'abc': expected a number, for torch.optim.AdamW")):
            await replace_text(pilot, app, "overrides", overrides)
            await refused(pilot, app, screen, reason)
            assert "\n" not in screen._verdicts[(str(screen.config), overrides)].message
        assert server is not None and screen._checker._server is server  # one process answered all
        await pilot.press("escape")
        await wait_until(pilot, lambda: server.proc.poll() is not None, 120, "the checker to stop")


async def test_new_name_and_escape(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app, "digits.yaml")
        name = screen.query_one("#name")
        assert name.value.startswith("digits-2")
        await replace_text(pilot, app, "name", "mine")
        await pilot.press("ctrl+n")
        assert name.value.startswith("digits-2")
        await pilot.press("escape")
        assert not isinstance(app.screen, LaunchScreen)
        assert os.listdir(app.settings.save_dir) == []


async def test_escape_while_validating_launches_nothing(tmp_path: Path) -> None:
    slow = (sys.executable, "-c", "import time; time.sleep(60)")
    app = make_app(tmp_path, check_entry=slow)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app, "digits.yaml")
        await replace_text(pilot, app, "name", "never")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "validating and launching" in message(screen), 120, "the launch")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), 120, "the dialog to close")
        checks = lambda: [p for p in psutil.process_iter(["cmdline"])  # noqa: E731
                          if "time.sleep(60)" in " ".join(p.info["cmdline"] or [])]
        await wait_until(pilot, lambda: not checks(), 120, "the check subprocess to be killed")
        await pilot.pause(0.5)
    assert os.listdir(app.settings.save_dir) == [] and app.settings.launcher.children == []


async def test_typed_name_survives_a_config_change(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app, "digits.yaml")
        await replace_text(pilot, app, "name", "mine")
        await open_launch_config(pilot, app, screen, "unknown-model.yaml")
        assert screen.query_one("#name").value == "mine"
        await pilot.press("ctrl+n")
        await open_launch_config(pilot, app, screen, "digits.yaml")
        assert screen.query_one("#name").value.startswith("digits-2")


async def open_launch_config(pilot, app, screen: LaunchScreen, config: str) -> None:
    await focus(pilot, app, "configs")
    for _ in range(5):
        if screen.config is not None and screen.config.name == config:
            return
        await pilot.press("down" if screen.config.name < config else "up")
    assert screen.config is not None and screen.config.name == config
