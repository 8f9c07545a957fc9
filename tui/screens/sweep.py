"""One sweep: its trials ranked by the objective (status, pruned included, value, epochs, each key), the
best so far over the trials and one scatter a key (Plots), and the keys' importances (Importance).

A worker reads the sweep (`tui.queue.sweeps.view.SweepReader`: the journal through `study`, imported
there, so Optuna loads in the worker, never at the app's start) and posts what changed; it looks again
every `REFRESH_S` while the sweep is live, and stops once every trial is told and no more will be
asked. Each part repaints only when its own data changed. `enter` opens a trial's run view; `space`
marks trials for `d` (diff) and `c` (compare), which take their rows as the runs table shows them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, TabbedContent, TabPane
from textual.worker import get_current_worker

from tui.queue.sweeps.view import (
    SweepData,
    SweepRead,
    SweepReader,
    columns,
    header,
    history_plot,
    importance_lines,
    param_plots,
    trial_cells,
)
from tui.text import STATUS_STYLES, STATUS_SYMBOLS
from tui.widgets.line import Line
from tui.widgets.runs_table import MARK
from tui.widgets.sweep_plot import SweepPlot

if TYPE_CHECKING:
    from tui.settings import Settings
    from tui.table.rows import RunRow

REFRESH_S = 2.0
"""A live sweep is looked at this often (a look at an unchanged sweep costs a few `stat` calls)."""
TABS = ("trials", "plots", "importance")
NUMERIC = (0, 3, 4)
"""Columns of numbers (place, value, epochs): right-aligned."""


@dataclass
class SweepLoaded(Message):
    """The sweep view's worker read its sweep again and something changed."""

    read: SweepRead

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SweepLoaded)


class SweepScreen(Screen[None]):
    CSS_PATH = "sweep.tcss"
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("enter", "open", "Open run", show=False, priority=True),
        Binding("space", "mark", "Mark"),
        Binding("d", "diff", "Diff"),
        Binding("c", "compare", "Compare"),
        *[Binding(str(i + 1), f"tab('{tab}')", tab.title(), show=False) for i, tab in enumerate(TABS)],
    ]

    def __init__(self, settings: Settings, sweep_name: str) -> None:
        super().__init__()
        self.settings, self.sweep_name = settings, sweep_name
        self.data: SweepData | None = None
        self.runs: dict[str, RunRow] = {}
        """The runs-table row of each trial with a run directory, by name (for diff and compare)."""
        self.marked: dict[str, None] = {}
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Line(f"sweep {self.sweep_name}: reading…", id="sweep-title")
        with TabbedContent(id="sweep-tabs", initial="trials"):
            with TabPane("Trials", id="trials"):
                yield DataTable(id="trials-table", cursor_type="row", zebra_stripes=False)
            with TabPane("Plots", id="plots"), VerticalScroll(id="plots-scroll"):
                yield Grid(id="plots-grid")
            with TabPane("Importance", id="importance"), VerticalScroll(id="importance-scroll"):
                yield Line("", id="importance-text")
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.watch_sweep()

    def on_unmount(self) -> None:
        self._stop.set()

    @property
    def table(self) -> DataTable[object]:
        return self.query_one("#trials-table", DataTable)

    # ---- the worker ----

    @work(thread=True, exclusive=True, group="sweep")
    def watch_sweep(self) -> None:
        worker = get_current_worker()
        reader = SweepReader(self.settings.save_dir, self.sweep_name)
        last: SweepRead | None = None
        while not (worker.is_cancelled or self._stop.is_set()):
            read = reader.read()
            if read is not None and read != last:
                last = read
                self.post_message(SweepLoaded(read))
            live = last is not None and last.data is not None and last.data.live
            if not (live and self.settings.live):
                return
            self._stop.wait(REFRESH_S)

    @on(SweepLoaded)
    def loaded(self, message: SweepLoaded) -> None:
        data, self.runs = message.read.data, message.read.runs
        if data is None:
            self.query_one("#sweep-title", Line).set(Text(f"✘ {message.read.error}", "bold red"))
            return
        old, self.data = self.data, data
        self.query_one("#sweep-title", Line).set(header(data))
        if old is None or (old.rows, old.sweep) != (data.rows, data.sweep):
            self._show_table(data, old)
            self._show_plots(data)
        if old is None or (old.importances, old.rows) != (data.importances, data.rows):
            self.query_one("#importance-text", Line).set("\n".join(importance_lines(data)))

    # ---- the parts ----

    def _show_table(self, data: SweepData, old: SweepData | None) -> None:
        table = self.table
        if old is None or old.sweep.space != data.sweep.space or old.sweep.metric != data.sweep.metric:
            table.clear(columns=True)
            for i, label in enumerate(columns(data.sweep)):
                table.add_column(Text(label, justify="right" if i in NUMERIC else "left"), key=str(i))
        selected = self.selected_name
        table.clear()
        for place, row in enumerate(data.rows, start=1):
            cells = list(trial_cells(place, row, data.sweep))
            table.add_row(*self._styled(cells, row.run), key=row.run)
        if selected in {row.run for row in data.rows}:
            table.move_cursor(row=table.get_row_index(selected))

    def _styled(self, cells: list[str], run: str) -> list[Text]:
        styled = [Text(cell, justify="right" if i in NUMERIC else "left") for i, cell in enumerate(cells)]
        status = cells[2]
        styled[2] = Text(f"{STATUS_SYMBOLS.get(status, '·')} {status}", STATUS_STYLES.get(status, ""))
        if run in self.marked:  # the symbol keeps a mark visible without colour (NO_COLOR)
            styled[1] = Text.assemble((MARK, "bold yellow"), " ", cells[1])
        return styled

    def _show_plots(self, data: SweepData) -> None:
        plots = [history_plot(data), *param_plots(data)]
        grid = self.query_one("#plots-grid", Grid)
        shown = list(grid.query(SweepPlot))
        if len(shown) != len(plots):
            grid.remove_children()
            grid.mount_all(SweepPlot(plot) for plot in plots)
            return
        for widget, plot in zip(shown, plots, strict=True):
            widget.show(plot)

    # ---- keys ----

    @property
    def selected_name(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    @on(DataTable.RowSelected, "#trials-table")
    def row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """`enter`: the selected trial's run view, once the trial has a run."""
        name = self.selected_name
        row = next((r for r in self.data.rows if r.run == name), None) if self.data else None
        if row is None:
            return
        if not row.status:
            self.notify(f"trial {row.number} has no run yet", severity="warning", timeout=3)
            return
        self.app.open_run(row.run)  # type: ignore[attr-defined]

    def action_mark(self) -> None:
        name = self.selected_name
        if name is None or self.data is None:
            return
        if name in self.marked:
            del self.marked[name]
        else:
            self.marked[name] = None
        place, row = next((i, r) for i, r in enumerate(self.data.rows, start=1) if r.run == name)
        cells = list(trial_cells(place, row, self.data.sweep))
        self.table.update_cell(name, "1", self._styled(cells, name)[1])

    def _chosen(self) -> list[RunRow]:
        """The marked trials' runs, oldest first; with one marked, it and the selected trial's."""
        names = list(self.marked)
        selected = self.selected_name
        if len(names) == 1 and selected is not None and selected not in names:
            names.append(selected)
        rows = [self.runs[name] for name in names if name in self.runs]
        return sorted(rows, key=lambda row: row.sort_key, reverse=True)

    def action_diff(self) -> None:
        rows = self._chosen()
        if len(rows) != 2:
            self.notify(f"diff takes two trials with runs: mark them with space ({len(self.marked)} marked)",
                        severity="warning")
            return
        self.app.open_diff(*rows)  # type: ignore[attr-defined]

    def action_compare(self) -> None:
        rows = self._chosen()
        if len(rows) < 2:
            self.notify("compare takes two or more trials with runs: mark them with space",
                        severity="warning")
            return
        self.app.open_compare(rows)  # type: ignore[attr-defined]

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """The pane's table or scroll takes the keys."""
        target = "#trials-table" if event.pane.id == "trials" else f"#{event.pane.id}-scroll"
        self.query_one(target).focus()
