"""A launch from the TUI whose process dies before its `start` is said in a notification with its error
(or that it ended without a word), not only by the row's status changing unseen; a launch that starts
is not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import wait_until
from helpers import launch, make_app, wait_status

from tui.launch.local import Launcher

FAKE = Path(__file__).with_name("fake_trainer.py")
CHECK_OK = (sys.executable, "-c", "import sys; sys.exit(0)")
SAYS_WHY = "import sys, time; time.sleep(1.5); print('error: GPU 3: no such device here'); sys.exit(2)"
SAYS_NOTHING = "import os, signal, time; time.sleep(1.5); os.kill(os.getpid(), signal.SIGKILL)"
pytestmark = pytest.mark.usefixtures("reap_tmp")


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.mark.parametrize(("script", "said"), [
    (SAYS_WHY, "'doomed' did not start: GPU 3: no such device here"),
    (SAYS_NOTHING, "'doomed' did not start: killed before the entry wrote anything"),
])
async def test_a_launch_that_dies_before_its_start_is_said(tmp_path: Path, script: str, said: str) -> None:
    app = make_app(tmp_path, check_entry=CHECK_OK, launcher=Launcher(entry=(sys.executable, "-c", script)))
    async with app.run_test(size=(80, 24)) as pilot:
        await launch(pilot, app, "doomed", "")
        await wait_until(pilot, lambda: said in notes(app), 120, "the notification")
        assert notes(app).count(said) == 1


async def test_a_launch_that_starts_is_not_said(tmp_path: Path) -> None:
    app = make_app(tmp_path, check_entry=CHECK_OK, launcher=Launcher(entry=(sys.executable, str(FAKE))))
    async with app.run_test(size=(80, 24)) as pilot:
        await launch(pilot, app, "fine", "")
        await wait_status(pilot, app, "fine", "running", timeout=600)
        assert not [n for n in notes(app) if "did not start" in n]
