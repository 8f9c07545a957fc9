"""Marks on the runs table and the diff screen, driven by keys at 80x24 on generated run directories."""

from __future__ import annotations

from pathlib import Path

from conftest import screen_text, wait_until
from diff_dirs import DIFFERING, make_pair
from helpers import select, table
from rundirs import T0, make_run, write_events

from tui.app import TorchxApp
from tui.screens.diff import DiffScreen
from tui.screens.runs import RunsScreen
from tui.settings import Settings
from tui.widgets.runs_table import MARK


def app_on(save: Path, live: bool = False) -> TorchxApp:
    return TorchxApp(Settings(save_dir=save, configs_dir=save.parent / "configs", live=live, refresh_s=0.2,
                              cache_dir=None))


def notes(app: TorchxApp) -> list[str]:
    return [n.message for n in app._notifications]


async def filled(pilot, count: int) -> None:
    await wait_until(pilot, lambda: table(pilot.app).row_count == count, 120, f"{count} rows")


async def open_diff(pilot) -> DiffScreen:
    await pilot.press("d")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, DiffScreen), 120, "the diff screen")
    screen = pilot.app.screen
    await wait_until(pilot, lambda: screen.diff is not None, 120, "the diff")
    await pilot.pause()
    return screen


async def test_marks_survive_updates_and_resorting(tmp_path: Path) -> None:
    save = tmp_path / "save"
    make_run(save, "old", "finished", t=T0)
    running = make_run(save, "live", "running", t=T0 + 100)
    app = app_on(save, live=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, 2)
        await select(pilot, app, "old")
        await pilot.press("space")
        assert list(table(app).marked) == ["old"]
        assert f"{MARK} old" in screen_text(app)
        write_events(running / "events.jsonl", [{"time": T0 + 200, "event": "epoch", "epoch": 5, "step": 120,
                                                "metrics": {"val/acc": 0.9}}])
        make_run(save, "newest", "finished", t=T0 + 500)  # sorts first: the table re-sorts
        await wait_until(pilot, lambda: table(app).row_count == 3
                         and table(app).runs["live"].epoch == 6, 120, "the update and the new run")
        await pilot.pause()
        assert [table(app).get_row_index(n) for n in ("newest", "live", "old")] == [0, 1, 2]
        text = screen_text(app)
        assert f"{MARK} old" in text and f"{MARK} live" not in text and f"{MARK} newest" not in text
        await select(pilot, app, "live")
        await pilot.press("space", "up", "space")
        assert list(table(app).marked) == ["old", "live", "newest"]
        await pilot.press("space")
        assert list(table(app).marked) == ["old", "live"]
        await pilot.press("escape")
        assert table(app).marked == {} and MARK not in screen_text(app)


async def test_diff_of_two_marked_runs(tmp_path: Path) -> None:
    make_pair(tmp_path / "save")
    app = app_on(tmp_path / "save")
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, 2)
        await pilot.press("space", "down", "space")
        screen = await open_diff(pilot)
        assert (screen.a.name, screen.b.name) == ("base-run", "lr-run")  # older is A
        assert screen.shown_keys() == sorted(DIFFERING)
        text = screen_text(app)
        assert "3 of 23 keys differ" in text
        assert "~  train_wrapper.args.optim_spec.args." in text and "0.002" in text and "0.001" in text
        assert "+  train_wrapper.args.sched_spec.args." in text and "(missing)" in text
        assert "-  trainer_params.gradient_clip_val" in text
        assert "data_module.args.batch_size" not in text
        await pilot.press("a")
        assert len(screen.shown_keys()) == 23
        assert "data_module.args.batch_size" in screen_text(app)
        await pilot.press("a")
        assert screen.shown_keys() == sorted(DIFFERING)

        await pilot.press("2")
        text = screen_text(app)
        assert "src/: 1 changed, 1 only in B, 0 only in A, 2 the same" in text
        assert "~ torchx/models/mlp.py" in text and "+ torchx/models/wide.py" in text
        assert "-    depth = 2" in text and "+    depth = 3" in text
        await pilot.press("3")
        text = screen_text(app)
        assert "1111111aaaaaaa" in text and "2222222bbbbbbb" in text
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen) and len(table(app).marked) == 2


async def test_one_marked_run_against_the_selected_one(tmp_path: Path) -> None:
    make_pair(tmp_path / "save")
    app = app_on(tmp_path / "save")
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, 2)
        await pilot.press("space", "d")  # one mark, the cursor on it: nothing to compare it with
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        assert "diff takes two runs: mark them with space (1 marked" in notes(app)[-1]
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen) and "compare takes two or more" in notes(app)[-1]
        await pilot.press("down")
        screen = await open_diff(pilot)
        assert screen.shown_keys() == sorted(DIFFERING)


async def test_diff_with_a_missing_config(tmp_path: Path) -> None:
    _, b = make_pair(tmp_path / "save")
    (b / "config.yaml").unlink()
    app = app_on(tmp_path / "save")
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, 2)
        await pilot.press("space", "down", "space")
        screen = await open_diff(pilot)
        assert screen.shown_keys() == []
        text = "".join(screen_text(app).split())  # the message wraps
        assert "Config✘" in text and "/save/lr-run/config.yaml:nosuchconfigfile" in text
        await pilot.press("2")
        assert "+    depth = 3" in screen_text(app)
