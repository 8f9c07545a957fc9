"""The sweep view through the real app at 80x24, on a real sweep on disk (its Optuna journal asked and
told by the runner's driver, its trials' run directories written as their runs left them): ranked by
the objective with the pruned trial shown as pruned, the best trial in the header, `enter` to a trial's
run view, `w` and the `sweep:` filter from the runs table, importances, diff and compare of marked
trials; and a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO, screen_text, wait_until
from rundirs import T0, make_run
from test_import_hygiene import modules_after

from tests.queue.test_sweep_driver import T, end, epoch, launched
from tests.tui.test_status import ALIVE
from tui.app import TorchxApp
from tui.queue.sweeps.driver import SweepDriver
from tui.queue.sweeps.make import make
from tui.queue.sweeps.space import parse_space
from tui.queue.sweeps.spec import Sweep
from tui.screens import sweep as sweep_screen
from tui.screens.compare import CompareScreen
from tui.screens.diff import DiffScreen
from tui.screens.run_view import RunViewScreen
from tui.screens.runs import RunsScreen
from tui.screens.sweep import SweepScreen
from tui.settings import Settings

LR = "train_wrapper.args.optim_spec.args.lr"
SPACE = (f"{LR}=loguniform(1e-4,1e-2)", "trainer_params.limit_val_batches=int(1,3)")


def made_sweep(save: Path, name: str = "lr", live: bool = False) -> Sweep:
    """Four trials asked by the driver and told from their runs: two finished, one pruned (0.1), one
    finished best (0.9): ranked 1, 3, 0, 2. `live`: the last one still runs (its process is this one)."""
    request = {"config": str(REPO / "configs" / "digits-classification.yaml"), "name": name,
               "save_dir": str(save), "gpus": 0, "cpu_processes": 1, "overrides": [], "slurm": None,
               "workdir": str(REPO)}
    sweep = Sweep(name, request, parse_space(list(SPACE)), "random", 4, "val/acc", "max", parallel=4)
    make(save, sweep)
    driver = SweepDriver(save, log=lambda _: None)
    driver.tick()
    for _ in range(4):
        driver.ask(sweep)
    launched(save, f"{name}-0", [epoch(0, 0.4), epoch(1, 0.5), end("finished")])
    launched(save, f"{name}-1", [epoch(0, 0.8), epoch(1, 0.9), end("finished")])
    launched(save, f"{name}-2", [epoch(0, 0.1), end("stopped")], pruned_at=T + 2)
    if live:
        launched(save, f"{name}-3", [epoch(0, 0.6)], start_pid=ALIVE)
    else:
        launched(save, f"{name}-3", [epoch(0, 0.6), epoch(1, 0.7), end("finished")])
    driver.tick()
    return sweep


def app_on(save: Path) -> TorchxApp:
    return TorchxApp(Settings(save_dir=save, configs_dir=save.parent / "configs", live=False, cache_dir=None,
                              clock=lambda: T0 + 1000))


async def open_view(pilot, app: TorchxApp, name: str = "lr") -> SweepScreen:
    app.open_sweep(name)
    await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen), 120, "the sweep view")
    screen = app.screen
    await wait_until(pilot, lambda: screen.data is not None, 120, "the sweep read")
    await pilot.pause()
    return screen


def table_runs(screen: SweepScreen) -> list[tuple[str, str]]:
    """(trial, status) of each row, in the table's order."""
    table = screen.table
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return [(str(row[1]), str(row[2]).split(" ", 1)[1]) for row in rows]


async def test_trials_ranked_pruned_shown_best_named_enter_opens_the_run(tmp_path: Path) -> None:
    save = tmp_path / "save"
    made_sweep(save)
    app = app_on(save)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_view(pilot, app)
        assert table_runs(screen) == [("lr-1", "finished"), ("lr-3", "finished"), ("lr-0", "finished"),
                                      ("lr-2", "pruned")]
        text = screen_text(app)
        assert "lr · random · val/acc (max) · 4/4 told · best lr-1 0.9" in text
        heads = next(line for line in text.splitlines() if line.strip().startswith("#")).split()
        assert heads == ["#", "trial", "status", "acc", "ep", "lr", "limit_val_batches"]
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RunViewScreen), 120, "the run view")
        assert app.screen.run_name == "lr-3"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, 120, "the sweep view again")
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen), 120, "the runs table")


async def test_importances_and_plots_of_a_two_key_sweep(tmp_path: Path) -> None:
    save = tmp_path / "save"
    made_sweep(save)
    app = app_on(save)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_view(pilot, app)
        assert {key for key, _ in screen.data.importances} == {LR, "trainer_params.limit_val_batches"}
        await pilot.press("3")
        await pilot.pause()
        text = screen_text(app)
        assert "lr " in text and "limit_val_batches " in text and "█" in text
        await pilot.press("2")
        await pilot.pause()
        from tui.widgets.sweep_plot import SweepPlot

        plots = list(screen.query(SweepPlot))
        assert [p.plot.title for p in plots] == ["best val/acc so far", "val/acc vs lr",
                                                 "val/acc vs limit_val_batches"]
        assert plots[1].plot.log and not plots[2].plot.log
        assert any("\u2801" <= ch <= "\u28ff" for ch in screen_text(app))  # braille points drawn


async def test_w_on_a_trial_opens_its_sweep_and_the_sweep_filter_keeps_its_trials(tmp_path: Path) -> None:
    save = tmp_path / "save"
    made_sweep(save)
    make_run(save, "plain", "finished", t=T0 + 5000)  # newest: first in the table
    app = app_on(save)
    async with app.run_test(size=(80, 24)) as pilot:
        runs = app.screen.query_one("#runs")
        await wait_until(pilot, lambda: runs.row_count == 5, 120, "five rows")
        assert runs.selected_name == "plain"
        await pilot.press("w")
        await wait_until(pilot, lambda: any("not a sweep's trial" in n.message for n in app._notifications),
                         120, "the notice")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("slash", *"sweep:l*", "enter")
        await wait_until(pilot, lambda: runs.row_count == 4, 120, "the sweep's trials only")
        assert set(runs.shown) == {"lr-0", "lr-1", "lr-2", "lr-3"}
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen), 120, "the sweep view")
        assert app.screen.sweep_name == "lr"


async def test_marked_trials_are_diffed_and_compared(tmp_path: Path) -> None:
    save = tmp_path / "save"
    made_sweep(save)
    app = app_on(save)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_view(pilot, app)
        await pilot.press("space", "down", "space", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, DiffScreen), 120, "the diff")
        assert {app.screen.a.name, app.screen.b.name} == {"lr-1", "lr-3"}
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, 120, "the sweep view again")
        await pilot.press("down", "space", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), 120, "the compare screen")
        assert {row.name for row in app.screen.rows} == {"lr-1", "lr-3", "lr-0"}


async def test_a_live_sweep_changes_only_when_its_files_do_and_leaves_no_worker(tmp_path: Path,
                                                                              monkeypatch) -> None:
    monkeypatch.setattr(sweep_screen, "REFRESH_S", 0.05)
    save = tmp_path / "save"
    made_sweep(save, live=True)
    app = TorchxApp(Settings(save_dir=save, configs_dir=tmp_path / "configs", cache_dir=None, refresh_s=0.2))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_view(pilot, app)
        first = screen.data
        assert first.live and ("lr-3", "running") in table_runs(screen)
        watching = {w for w in app.workers if w.group == "sweep" and not w.is_finished}
        assert watching
        await pilot.pause(0.5)  # ten looks at unchanged files
        assert screen.data is first  # nothing posted, nothing repainted
        with open(save / "lr-3" / "events.jsonl", "a") as out:
            out.write(json.dumps({"v": 1, **epoch(1, 0.95)}) + "\n")
        await wait_until(pilot, lambda: screen.data is not first, 120, "the new epoch")
        assert table_runs(screen)[0] == ("lr-1", "finished")  # running trials rank after told ones
        assert ("lr-3", 0.95) in [(r.run, r.value) for r in screen.data.rows]  # its best epoch so far
        await pilot.press("escape")
        await wait_until(pilot, lambda: all(w.is_finished for w in watching), 120, "the worker to end")


def test_opening_the_sweep_view_loads_optuna_only_in_its_worker_after_the_start(tmp_path: Path) -> None:
    """The app's start and the sweep screen's import load no Optuna (the view's worker does, on open)."""
    save = tmp_path / "save"
    made_sweep(save)
    code = f"""
import asyncio, sys
from pathlib import Path
from tui.app import TorchxApp
from tui.settings import Settings
import tui.screens.sweep
assert "optuna" not in sys.modules, "importing the sweep screen loaded optuna"

async def main():
    app = TorchxApp(Settings(save_dir=Path({str(save)!r}), live=False, cache_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        assert "optuna" not in sys.modules, "the app's start loaded optuna"
        app.open_sweep("lr")
        while getattr(app.screen, "data", None) is None:
            await pilot.pause(0.1)

asyncio.run(main())
"""
    assert "optuna" in modules_after(code)


def snapshot_app(workdir: Path) -> TorchxApp:
    made_sweep(Path("save"))
    return TorchxApp(Settings(save_dir=Path("save"), configs_dir=Path("configs"), clock=lambda: T0 + 1000,
                              live=False, cache_dir=None))


async def view_open(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.screen.query_one("#runs").row_count == 4, 120, "the table")
    await open_view(pilot, pilot.app)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_snapshot_trials(workdir: Path, snap_compare) -> None:
    assert snap_compare(snapshot_app(workdir), terminal_size=(80, 24), run_before=view_open)


def test_snapshot_plots(workdir: Path, snap_compare) -> None:
    async def plots(pilot) -> None:
        await view_open(pilot)
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(snapshot_app(workdir), terminal_size=(80, 24), run_before=plots)
