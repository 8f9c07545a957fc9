"""The queue in the TUI, keys only at 80x24, with real runners and real processes: `ctrl+q` in the launch
dialog queues, the table shows each queued run's place, `K` takes one out (`u` puts it back), `+`/`-`
reorder, `p` pauses and resumes, `f` forks a queued request, and a TUI that starts on queued runs
without a runner starts one. The runner launches the TUI's own trainer entry: the queue tests' quick
stand-in (no torch) here, the real tiny digits run in the first test."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import REPO, screen_text, wait_until
from helpers import TINY, make_app, open_launch, replace_text, row, select, table, wait_status

from tests.conftest import wait_for
from torchx.events import read_events
from torchx.experiment import read_json
from tui.launch.local import Launcher
from tui.launch.request import LaunchRequest
from tui.queue import store
from tui.queue.runner import RUNNER_LOG, runner_pid
from tui.screens.confirm import ConfirmScreen
from tui.screens.launch import LaunchScreen
from tui.screens.runs import RunsScreen

pytestmark = [pytest.mark.timeout(600), pytest.mark.usefixtures("reap_tmp")]
QUICK = (sys.executable, str(REPO / "tests" / "queue" / "quick_trainer.py"))
CHECK_OK = (sys.executable, "-c", "import sys; sys.exit(0)")
LIMIT_S = 180


def quick_app(tmp_path: Path, quick_s: float = 0.5, **kwargs: object):
    """The app with the quick stand-in trainer (it lives `quick_s` seconds) and a check that passes."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TORCHX_")}, "QUICK_S": str(quick_s)}
    return make_app(tmp_path, check_entry=CHECK_OK, launcher=Launcher(entry=QUICK, env=env), **kwargs)


def queue_runs(tmp_path: Path, names: list[str], paused: bool = True) -> Path:
    """Runs queued from a shell before the TUI starts (`torchx-tui queue add`), on CPU."""
    save = tmp_path / "save"
    config = tmp_path / "configs" / "digits.yaml"
    if paused:
        store.pause(save)
    for seed, name in enumerate(names, start=1):
        store.queue(LaunchRequest(config, name, save, overrides=(f"seed={seed}",)))
    return save


def summary(app) -> str:
    """The line above the table (toasts may repeat its words elsewhere on the screen)."""
    screen = next(s for s in app.screen_stack if isinstance(s, RunsScreen))
    return str(screen.query_one("#summary").content)


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def cell(app, name: str, column: str) -> str:
    return str(table(app).get_cell(name, column))


def positions(save: Path) -> dict[str, float]:
    return {r.name: r.position for r in store.queued_runs(save)}


async def runner_ticked(pilot, save: Path, ticks: int = 3) -> None:
    """Wait until the save dir's runner has lived through `ticks` of its one-second ticks."""
    await wait_until(pilot, lambda: runner_pid(save) not in (None, -1), LIMIT_S, "a runner")
    born = psutil.Process(runner_pid(save)).create_time()
    await wait_until(pilot, lambda: time.time() > born + ticks + 0.5, LIMIT_S, f"{ticks} runner ticks")


async def queue_from_dialog(pilot, app, name: str, overrides: str = "") -> LaunchScreen:
    screen = await open_launch(pilot, app)
    await replace_text(pilot, app, "name", name)
    if overrides:
        await replace_text(pilot, app, "overrides", overrides)
    await pilot.press("ctrl+q")
    await wait_until(pilot, lambda: not isinstance(app.screen, LaunchScreen), LIMIT_S, f"{name} to be queued")
    return screen


async def confirm(pilot, app, key: str) -> str:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), LIMIT_S, "a confirmation")
    question = app.screen.question
    await pilot.press("y")
    return question


@pytest.mark.slow
async def test_ctrl_q_queues_a_real_run_that_the_runner_starts(tmp_path: Path) -> None:
    """The real check, the real entry: `ctrl+q` queues, the runner it starts launches the tiny digits
    run, which finishes with the dialog's overrides."""
    app = make_app(tmp_path)
    save = app.settings.save_dir
    async with app.run_test(size=(80, 24)) as pilot:
        await queue_from_dialog(pilot, app, "real", f"trainer_params.max_epochs=1 seed=7 {TINY}")
        assert "queued 'real' (#1)" in notes(app)
        await wait_until(pilot, lambda: row(app, "real") is not None, LIMIT_S, "the queued run in the table")
        done = await wait_status(pilot, app, "real", "finished", timeout=LIMIT_S)
        assert done.epoch == 1 and done.queue_place is None
    record = read_json(save / "real" / "run.json")
    assert record is not None and record["queued"]["request"]["overrides"][1] == "seed=7"
    assert len(record["launches"]) == 1 and record["gpus"] == "cpu"


async def test_ctrl_q_while_paused_shows_the_place_then_p_resumes(tmp_path: Path) -> None:
    app = quick_app(tmp_path)
    save = app.settings.save_dir
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen), LIMIT_S, "the runs table")
        await pilot.press("p")
        await wait_until(pilot, lambda: summary(app).startswith("torchx · queue paused · "), LIMIT_S,
                         "the summary to say paused")
        assert store.paused(save)
        await queue_from_dialog(pilot, app, "first")
        await queue_from_dialog(pilot, app, "second")
        assert "queued 'first' (#1)" in notes(app) and "queued 'second' (#2)" in notes(app)
        second = lambda: row(app, "second")  # noqa: E731
        await wait_until(pilot, lambda: second() is not None and second().queue_place == 2, LIMIT_S,
                         "the second queued row with its place")
        assert row(app, "first").status == "queued" and cell(app, "first", "epoch") == "#1 in queue"
        assert cell(app, "second", "epoch") == "#2 in queue" and cell(app, "second", "GPUs") == "cpu"
        assert cell(app, "second", "config") == "digits" and "2 queued" in summary(app)
        await runner_ticked(pilot, save)  # a runner lives, and launches nothing while paused
        assert {row(app, n).status for n in ("first", "second")} == {"queued"}
        assert not (save / "first" / "events.jsonl").exists()

        await pilot.press("p")
        await wait_until(pilot, lambda: "queue paused" not in summary(app), LIMIT_S, "the summary")
        assert not store.paused(save) and "queue resumed" in " ".join(notes(app))
        for name in ("first", "second"):
            await wait_status(pilot, app, name, "finished", timeout=LIMIT_S)
        assert not store.queued_runs(save)


async def test_K_removes_a_queued_run_u_brings_it_back(tmp_path: Path) -> None:
    save = queue_runs(tmp_path, ["a", "b"])
    app = quick_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "b") is not None and row(app, "b").queue_place == 2, LIMIT_S,
                         "the queued runs")
        await select(pilot, app, "a")
        question = await confirm(pilot, app, "K")
        assert "Remove 'a' from the queue?" in question
        await wait_until(pilot, lambda: row(app, "a") is None, LIMIT_S, "a to leave the table")
        assert not (save / "a").exists() and list((save / ".trash").glob("a-*"))
        assert any(n.startswith("removed 'a' from the queue") for n in notes(app))
        await wait_until(pilot, lambda: row(app, "b").queue_place == 1, LIMIT_S, "b to move up")

        await pilot.press("u")
        await wait_until(pilot, lambda: row(app, "a") is not None, LIMIT_S, "a back")
        await wait_until(pilot, lambda: row(app, "a").queue_place == 1, LIMIT_S, "a first again")
        assert row(app, "a").status == "queued" and [r.name for r in store.queued_runs(save)] == ["a", "b"]

        app.screen.edit_queue("remove", "gone")  # launched or removed since the table showed it
        await wait_until(pilot, lambda: any("'gone' is not in the queue" in n for n in notes(app)), LIMIT_S,
                         "the refusal")


async def test_D_deletes_a_queued_run_through_the_queue(tmp_path: Path) -> None:
    from tui.screens.tidy import TidyScreen

    save = queue_runs(tmp_path, ["a", "b"])
    app = quick_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "b") is not None, LIMIT_S, "the queued runs")
        await select(pilot, app, "b")
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, TidyScreen), LIMIT_S, "the tidy dialog")
        await pilot.press("x", *"b", "enter")
        await wait_until(pilot, lambda: row(app, "b") is None, LIMIT_S, "b to leave the table")
        assert [r.name for r in store.queued_runs(save)] == ["a"]
        assert any(n.startswith("removed 'b' from the queue") for n in notes(app))


async def test_plus_and_minus_reorder_the_queue(tmp_path: Path) -> None:
    save = queue_runs(tmp_path, ["a", "b", "c"])
    app = quick_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "c") is not None and row(app, "c").queue_place == 3, LIMIT_S,
                         "the queued runs")
        await select(pilot, app, "c")
        await pilot.press("plus")
        await wait_until(pilot, lambda: row(app, "c").queue_place == 2, LIMIT_S, "c second")
        await pilot.press("plus")
        await wait_until(pilot, lambda: row(app, "c").queue_place == 1, LIMIT_S, "c first")
        assert positions(save) == {"c": 1, "a": 2, "b": 3}
        await wait_until(pilot, lambda: cell(app, "b", "epoch") == "#3 in queue", LIMIT_S, "b's cell")
        assert cell(app, "c", "epoch") == "#1 in queue" and cell(app, "a", "epoch") == "#2 in queue"
        await pilot.press("minus")
        await wait_until(pilot, lambda: row(app, "c").queue_place == 2, LIMIT_S, "c second again")
        assert positions(save) == {"a": 1, "c": 2, "b": 3}
        assert json.loads((save / "c" / "run.json").read_text())["queued"]["position"] == 2


async def test_a_tui_started_on_queued_runs_starts_their_runner(tmp_path: Path) -> None:
    """Runs queued with no runner alive (killed, or its machine rebooted): the TUI's first scan starts
    one, which launches them with the TUI's trainer."""
    save = queue_runs(tmp_path, ["a", "b"], paused=False)
    assert runner_pid(save) is None
    app = quick_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        for name in ("a", "b"):
            await wait_status(pilot, app, name, "finished", timeout=LIMIT_S)
    assert not store.queued_runs(save)
    assert all(read_json(save / n / "run.json")["launches"] for n in ("a", "b"))  # type: ignore[index]


async def test_a_queued_row_counts_its_wait_and_a_refused_one_says_why(tmp_path: Path) -> None:
    now = [time.time()]
    save = queue_runs(tmp_path, ["waits", "refused"])
    store.mark_failed(save / "refused", "sbatch: error: invalid partition")
    app = quick_app(tmp_path, clock=lambda: now[0])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "refused") is not None and row(app, "waits") is not None,
                         LIMIT_S, "both rows")
        waited = cell(app, "waits", "time")
        now[0] += 3725  # the 1 Hz tick repaints a queued row's wait
        await wait_until(pilot, lambda: cell(app, "waits", "time") != waited, LIMIT_S, "the wait to count")
        assert cell(app, "waits", "time").startswith("1:02:")
        refused = row(app, "refused")
        assert refused.status == "failed" and refused.error == "sbatch: error: invalid partition"
        await select(pilot, app, "refused")
        await wait_until(pilot, lambda: "✘ sbatch: error: invalid partition" in screen_text(app), LIMIT_S,
                         "why, under the table")


async def test_f_forks_a_queued_request(tmp_path: Path) -> None:
    save = queue_runs(tmp_path, ["a"])
    app = quick_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "a") is not None, LIMIT_S, "the queued run")
        await select(pilot, app, "a")
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, LaunchScreen), LIMIT_S, "the fork's dialog")
        screen = app.screen
        assert screen.prefill is not None and "forked from queued 'a'" in screen.prefill.note
        await wait_until(pilot, lambda: screen.config is not None, LIMIT_S, "its config")
        assert screen.config.resolve() == (tmp_path / "configs" / "digits.yaml").resolve()
        assert screen.overrides_text == "seed=1"
    assert read_json(save / "a" / "run.json")["queued"]  # type: ignore[index]


async def test_a_tui_started_on_an_unfinished_sweep_starts_its_runner(tmp_path: Path) -> None:
    """A sweep with no run queued (its runner was killed between trials): the TUI starts a runner,
    which asks the remaining trials; the sweep ends done with one run a trial."""
    from tui.queue.sweeps.make import make
    from tui.queue.sweeps.space import parse_space
    from tui.queue.sweeps.spec import Sweep, load_sweep

    save = tmp_path / "save"
    request = {"config": str(tmp_path / "configs" / "digits.yaml"), "name": "s", "save_dir": str(save),
               "gpus": 0, "cpu_processes": 1, "overrides": [], "slurm": None, "workdir": str(REPO)}
    make(save, Sweep("s", request, parse_space(["seed=1,2"]), "grid", 2, "val/acc", "max"))
    assert runner_pid(save) is None and not store.queued_runs(save)
    app = quick_app(tmp_path, quick_s=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: load_sweep(save, "s").done, LIMIT_S, "the sweep to be done")
        for name in ("s-0", "s-1"):
            await wait_status(pilot, app, name, "finished", timeout=LIMIT_S)


@pytest.mark.slow
async def test_quitting_the_tui_mid_sweep_leaves_the_sweep_to_finish(tmp_path: Path) -> None:
    """The TUI starts the sweep's runner and quits while a trial trains: the runner, in a session of its
    own, finishes the sweep without it, one run a trial."""
    from tui.queue.sweeps.make import make
    from tui.queue.sweeps.space import parse_space
    from tui.queue.sweeps.spec import Sweep, load_sweep

    save = tmp_path / "save"
    request = {"config": str(tmp_path / "configs" / "digits.yaml"), "name": "q", "save_dir": str(save),
               "gpus": 0, "cpu_processes": 1, "overrides": [], "slurm": None, "workdir": str(REPO)}
    make(save, Sweep("q", request, parse_space(["seed=1,2,3"]), "grid", 3, "val/acc", "max"))
    app = quick_app(tmp_path, quick_s=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_status(pilot, app, "q-0", "running", timeout=LIMIT_S)
        await pilot.press("q")
    assert not (save / "q-2").exists()  # quit before the last trial was asked
    wait_for(lambda: load_sweep(save, "q").done, LIMIT_S, "the sweep to be done without the TUI")
    for name in ("q-0", "q-1", "q-2"):
        record = read_json(save / name / "run.json") or {}
        assert len(record.get("launches") or [record]) == 1, record
        assert [e["status"] for e in read_events(save / name / "events.jsonl")[0] if e["event"] == "end"] \
            == ["finished"]


@pytest.mark.slow
async def test_two_tuis_on_one_save_dir_start_one_runner_and_launch_each_run_once(tmp_path: Path) -> None:
    """Two TUIs open on one save dir when its paused queue resumes: each sees queued runs and no runner
    and starts one; the lock lets one live, and each run is launched once."""
    save = queue_runs(tmp_path, ["a", "b", "c"])
    first, second = quick_app(tmp_path, quick_s=0.5), quick_app(tmp_path, quick_s=0.5)
    async with first.run_test(size=(80, 24)) as one, second.run_test(size=(80, 24)) as two:
        for pilot, app in ((one, first), (two, second)):
            await wait_until(pilot, lambda app=app: row(app, "c") is not None, LIMIT_S, "the queued rows")
        store.resume(save)
        for name in ("a", "b", "c"):
            await wait_status(one, first, name, "finished", timeout=LIMIT_S)
            await wait_status(two, second, name, "finished", timeout=LIMIT_S)
    started = [line for line in (save / ".queue" / RUNNER_LOG).read_text().splitlines()
               if line.endswith(" started")]
    assert len(started) == 1, started
    for name in ("a", "b", "c"):
        record = read_json(save / name / "run.json") or {}
        assert len(record.get("launches") or [record]) == 1, record
