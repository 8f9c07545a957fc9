"""Compare: the logic on generated runs, and the screen on three marked runs under the pilot at 80x24."""

from __future__ import annotations

from pathlib import Path

from conftest import screen_text, wait_until
from diff_dirs import acc_at, make_curve_run
from helpers import table
from rundirs import T0
from test_marks_diff import app_on, filled

from tui.history.compare import default_metric, open_loader, run_metrics, shared_metrics, table_rows
from tui.live import loader as run_loader
from tui.live.series import DEFAULT_CAPACITY
from tui.screens.compare import CompareScreen
from tui.screens.runs import RunsScreen
from tui.table.rows import RunRow
from tui.text import legend_names
from tui.widgets.metric_plot import MetricPlot

RATES = (0.3, 0.6, 1.2)


def three_runs(save: Path) -> list[str]:
    names = [f"lr-{rate}" for rate in RATES]
    for i, (name, rate) in enumerate(zip(names, RATES, strict=True)):
        make_curve_run(save, name, T0 + 100 * i, rate)
    return names


def test_shared_metrics_and_table(tmp_path: Path) -> None:
    names = three_runs(tmp_path)
    (tmp_path / names[2] / "config.yaml").write_text("checkpoint: {monitor: val/loss, mode: min}\n")
    runs = [run_metrics(name, open_loader(tmp_path / name).data) for name in names]
    shared = shared_metrics(runs)
    assert shared == ["val/acc", "val/loss", "train/loss"]
    assert default_metric(runs, shared) == "val/acc"  # the first run's checkpoint metric
    assert default_metric(runs[2:], shared) == "val/loss"
    rows = [RunRow(name, "finished", epoch=5, max_epochs=5, elapsed_s=51.0) for name in names]
    cells = {label: (key, values) for key, label, values in table_rows(rows, runs, shared)}
    assert cells["duration"][1] == ("0:51",) * 3 and cells["epochs"][1] == ("5/5",) * 3
    assert cells["↑val/acc"] == ("val/acc", tuple(f"{acc_at(rate, 4):.4g}" for rate in RATES))
    labels = [label for _, label, _ in table_rows(rows, runs, shared)]
    best = labels.index("↑val/acc") + 1
    assert labels[best] == "  best @epoch"
    assert table_rows(rows, runs, shared)[best][2][0] == f"{acc_at(RATES[0], 4):.4g} @5"


def test_shared_metrics_exclude_what_one_run_lacks(tmp_path: Path) -> None:
    names = three_runs(tmp_path)
    runs = [run_metrics(name, open_loader(tmp_path / name).data) for name in names]
    runs[1].rows.pop("val/loss")
    assert shared_metrics(runs) == ["val/acc", "train/loss"]
    assert shared_metrics([]) == [] and default_metric([], []) is None


def test_legend_names_stay_distinct() -> None:
    assert legend_names(["a", "b"]) == ["a", "b"]
    long = ["digits-classification-x-20261126-202736", "digits-classification-y-20261126-202736"]
    legend = legend_names(long, 15)
    assert len(set(legend)) == 2 and legend[0].startswith("1:") and legend[1].startswith("2:")
    assert all(len(name) <= 15 for name in legend)


async def test_compare_three_runs(tmp_path: Path) -> None:
    names = three_runs(tmp_path / "save")
    app = app_on(tmp_path / "save")
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, 3)
        await pilot.press("space", "down", "space", "down", "space", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), 120, "the compare screen")
        screen = app.screen
        await wait_until(pilot, lambda: screen.complete, 120, "the runs' metrics")
        await pilot.pause()
        plot = screen.query_one(MetricPlot)
        assert plot.labels == tuple(names) and len(plot._data) == 3 and plot.plot_title == "val/acc"
        for name, rate in zip(names, RATES, strict=True):  # each run's own curve, per epoch
            assert plot._data[name][1] == [acc_at(rate, epoch) for epoch in range(5)]
        text = screen_text(app)
        assert "3 runs · val/acc (1/3, m: next)" in text
        finals = " ".join(f"{acc_at(rate, 4):.4g}" for rate in RATES)
        assert f"↑val/acc {finals}" in [" ".join(line.split()) for line in text.splitlines()]
        assert all(f"● {name}" in text for name in names)
        await pilot.press("m")
        assert screen.metric == "val/loss" and plot.plot_title == "val/loss"
        await pilot.press("m", "m")
        assert screen.metric == "val/acc"
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen) and len(table(app).marked) == 3


async def test_compare_a_long_run_from_a_sample(tmp_path: Path, monkeypatch) -> None:
    """A log over the loader's full-read size opens from a sample first, then is read through; each
    curve stays within the series' bounded number of points."""
    monkeypatch.setattr(run_loader, "FULL_READ_BYTES", 4096)
    monkeypatch.setattr(run_loader, "HEAD_BYTES", 1024)
    monkeypatch.setattr(run_loader, "TAIL_BYTES", 1024)
    save = tmp_path / "save"
    make_curve_run(save, "long", T0, 0.01, epochs=40, steps_per_epoch=100)
    make_curve_run(save, "short", T0 + 100, 0.5)
    app = app_on(save)
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, 2)
        await pilot.press("space", "down", "space", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), 120, "the compare screen")
        screen = app.screen
        await wait_until(pilot, lambda: screen.complete, 120, "the read-through")
        long = screen.runs[[r.name for r in screen.runs].index("long")]
        assert len(long.series["train/loss"][0]) <= DEFAULT_CAPACITY
        assert long.rows["val/acc"].count == 40  # every epoch, found by the read-through
        assert long.rows["val/acc"].best.y == acc_at(0.01, 39)
