"""`/` filters and `o` sorts the runs table, keys only, at 80x24 on generated run directories."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from conftest import REPO, screen_text, wait_until
from helpers import make_app, table
from rundirs import T0, make_run, write_events

from torchx.config import dump_config, load_config
from tui.screens.sort import SortScreen
from tui.text import COLUMNS
from tui.widgets.filter_bar import FilterBar

LR = "train_wrapper.args.optim_spec.args.lr"


def make_runs(save: Path) -> None:
    """Three digits runs that differ in status, learning rate, accuracy and start day."""
    day = datetime(2026, 11, 2, 12).timestamp()
    specs = [("lr-small", "finished", 0.0005, 5, day), ("lr-big", "failed", 0.002, 2, day - 86400 * 2),
             ("lr-mid", "stopped", 0.001, 8, day - 86400 * 40)]
    for name, status, lr, epochs, t in specs:
        run_dir = make_run(save, name, status, t=t, epochs=epochs)
        config = load_config(REPO / "configs" / "digits-classification.yaml", [f"{LR}={lr}"])
        (run_dir / "config.yaml").write_text(dump_config(config))


def shown(app) -> list[str]:
    t = table(app)
    return [str(t.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(t.row_count)]


async def type_filter(pilot, text: str) -> None:
    await pilot.press("slash", "ctrl+u", *text)


async def test_query_forms_bad_query_and_escape(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    make_runs(app.settings.save_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 3, 120, "three runs")
        assert shown(app) == ["lr-small", "lr-big", "lr-mid"]  # newest first
        for text, expected in [
            (f"cfg.{LR}<1e-3", ["lr-small"]),
            (f"cfg.{LR}>=1e-3", ["lr-big", "lr-mid"]),
            ("status:failed", ["lr-big"]),
            ("config:digits*", ["lr-small", "lr-big", "lr-mid"]),
            ("val/acc>0.6", ["lr-small", "lr-mid"]),  # acc after epochs 5 and 8: 0.66, 0.78
            ("started>2026-11-01", ["lr-small"]),
            ("started<2026-11-01 val/acc<0.7", ["lr-big"]),
            ("big", ["lr-big"]),
        ]:
            await type_filter(pilot, text)
            await wait_until(pilot, lambda e=expected: shown(app) == e, 120, f"{text} → {expected}")
        await type_filter(pilot, "val/acc>x")
        error = "'val/acc>x': 'x' is not a number"
        await wait_until(pilot, lambda: error in screen_text(app), 120, "the error")
        assert shown(app) == ["lr-big"]  # a bad query leaves the table as it was
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(shown(app)) == 3, 120, "every run back")
        assert "not a number" not in screen_text(app) and app.focused is table(app)


async def test_filter_keeps_applying_as_rows_update(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    make_runs(app.settings.save_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 3, 120, "three runs")
        await type_filter(pilot, "val/acc>0.9")
        await pilot.press("enter")
        await wait_until(pilot, lambda: shown(app) == [], 120, "no run above 0.9")
        events = app.settings.save_dir / "lr-big" / "events.jsonl"
        write_events(events, [{"time": T0, "event": "test", "ckpt": "ckpt/last.ckpt",
                               "metrics": {"test/acc": 0.1}},
                              {"time": T0, "event": "epoch", "epoch": 9, "step": 200,
                               "metrics": {"val/acc": 0.95}}])
        await wait_until(pilot, lambda: shown(app) == ["lr-big"], 120, "the improved run to appear")


async def test_sort_by_a_column_and_reverse(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    make_runs(app.settings.save_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 3, 120, "three runs")
        for expected in (["lr-big", "lr-small", "lr-mid"], ["lr-mid", "lr-small", "lr-big"]):
            await pilot.press("o")  # the picker opens on the current column: epoch is five above started
            await wait_until(pilot, lambda: isinstance(app.screen, SortScreen), 120, "the sort picker")
            if table(app).order.column != "epoch":
                await pilot.press(*["up"] * (COLUMNS.index("started") - COLUMNS.index("epoch")))
            await pilot.press("enter")
            await wait_until(pilot, lambda e=expected: shown(app) == e, 120, f"sorted {expected}")
        assert table(app).order.descending


async def test_a_fixed_query_clears_the_error_and_shows_the_counts(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    make_runs(app.settings.save_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 3, 120, "three runs")
        await type_filter(pilot, "val/acc>x")
        await wait_until(pilot, lambda: "not a number" in screen_text(app), 120, "the error")
        await type_filter(pilot, "big")
        await wait_until(pilot, lambda: shown(app) == ["lr-big"], 120, "the fixed query applied")
        await wait_until(pilot, lambda: "1 of 3 runs" in screen_text(app), 120, "the counts")
        assert "not a number" not in screen_text(app)


async def test_escape_closes_an_empty_filter_bar_and_keeps_the_marks(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    make_runs(app.settings.save_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 3, 120, "three runs")
        await pilot.press("space", "slash")
        bar = app.screen.query_one(FilterBar)
        assert bar.is_open and app.focused is bar.input
        await pilot.press("escape")
        assert not bar.is_open and app.focused is table(app)
        assert list(table(app).marked) == ["lr-small"]  # this escape was the bar's
        await pilot.press("down")  # keys reach the table again
        assert table(app).cursor_row == 1
        await pilot.press("escape")
        assert not table(app).marked
