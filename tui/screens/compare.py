"""Two or more runs compared: one metric of each overlaid in a plot, and a table of status, duration,
epochs and the final and best value of every metric they share. A worker reads the runs
(`tui.history.compare`); `m` cycles the plotted metric."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer
from textual.worker import get_current_worker

from tui.history.compare import (
    RunMetrics,
    default_metric,
    open_loader,
    run_metrics,
    shared_metrics,
    table_rows,
)
from tui.messages import CompareLoaded
from tui.text import LEGEND_WIDTH, legend_names
from tui.widgets.line import Line
from tui.widgets.metric_plot import MetricPlot

if TYPE_CHECKING:
    from tui.settings import Settings
    from tui.table.rows import RunRow

RUN_COLORS = ("cyan", "magenta", "green", "yellow", "blue", "red")
"""Names that plotext and Rich both know: a run's line and its table column share a colour."""


class CompareScreen(Screen[None]):
    CSS_PATH = "compare.tcss"
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("m", "next_metric", "Metric"),
        Binding("M", "next_metric(-1)", "Prev metric", show=False),
    ]

    def __init__(self, settings: Settings, rows: list[RunRow]) -> None:
        super().__init__()
        self.settings, self.rows = settings, rows
        self.legend = legend_names([row.name for row in rows])
        self.runs: list[RunMetrics] = []
        self.shared: list[str] = []
        self.metric: str | None = None
        self.complete = False

    def compose(self) -> ComposeResult:
        yield Line(f"comparing {len(self.rows)} runs…", id="compare-title")
        yield MetricPlot(RUN_COLORS, id="compare-plot")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("", width=17)
        for i, name in enumerate(self.legend):
            table.add_column(Text(f"● {name}", RUN_COLORS[i % len(RUN_COLORS)]), width=LEGEND_WIDTH + 2)
        self.load()

    @work(thread=True, exclusive=True, group="compare")
    def load(self) -> None:
        """Every run opened at once (a large log from a sample), then read through for exact bests."""
        worker = get_current_worker()
        loaders = [open_loader(self.settings.save_dir / row.name) for row in self.rows]

        def post(complete: bool) -> None:
            pairs = zip(self.rows, loaders, strict=True)
            runs = [run_metrics(row.name, loader.data) for row, loader in pairs]
            self.post_message(CompareLoaded(runs, complete))

        sampled = any(loader.backfilling for loader in loaders)
        post(not sampled)
        if sampled:
            for loader in loaders:
                while loader.backfilling and not worker.is_cancelled:
                    loader.poll()
            post(True)

    @on(CompareLoaded)
    def loaded(self, message: CompareLoaded) -> None:
        self.runs, self.complete = message.runs, message.complete
        self.shared = shared_metrics(self.runs)
        if self.metric not in self.shared:
            self.metric = default_metric(self.runs, self.shared)
        self._show_table()
        self._show_plot()

    def action_next_metric(self, step: int = 1) -> None:
        if self.metric in self.shared:
            self.metric = self.shared[(self.shared.index(self.metric) + step) % len(self.shared)]
            self._show_plot()

    def _show_plot(self) -> None:
        if self.metric is None:
            text = "these runs share no metric" if self.runs else f"comparing {len(self.rows)} runs…"
            self.query_one("#compare-title", Line).set(text)
            return
        position = f"{self.shared.index(self.metric) + 1}/{len(self.shared)}"
        title = f"{len(self.rows)} runs · {self.metric} ({position}, m: next)"
        self.query_one("#compare-title", Line).set(title + ("" if self.complete else " · loading history…"))
        data = {name: run.series[self.metric] for name, run in zip(self.legend, self.runs, strict=True)}
        self.query_one(MetricPlot).show(data, tuple(self.legend), "step", None, title=self.metric)
        table = self.query_one(DataTable)
        keys = [key.value for key in table.rows]
        if self.metric in keys:
            table.move_cursor(row=keys.index(self.metric))

    def _show_table(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for key, label, cells in table_rows(self.rows, self.runs, self.shared):
            table.add_row(label, *cells, key=key)
