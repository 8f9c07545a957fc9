"""The live view of one run: header with progress and ETA, metric plots, logs, GPUs and processes,
config, checkpoints and the reproduce card. One worker follows the run; handlers own the widgets. A
damaged directory opens too: its header says why (`RunSnapshot.problem`)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from tui.live.data import advance
from tui.live.watch import LOG_SOURCES, RunSnapshot, RunWatch
from tui.messages import (
    GpusShared,
    LogLinesRead,
    ProcsSampled,
    RunSnapshotReady,
)
from tui.run.status import DAMAGED
from tui.screens.run_actions import RunActions
from tui.text import (
    STATUS_STYLES,
    Localtime,
    error_line,
    gpu_line,
    host_lines,
    metric_cells,
    number,
    printable,
    proc_cells,
    progress_line,
    run_gpu_indices,
    size_text,
    timing_line,
    title_line,
)
from tui.widgets.cell_table import CellTable
from tui.widgets.line import Line
from tui.widgets.log_panel import LogPanel
from tui.widgets.metric_plot import MetricPlot

if TYPE_CHECKING:
    from tui.settings import Settings

POLL_S = 0.25
BACKFILL_PAUSE_S = 0.02
"""Between backfill slices: the worker must leave the UI thread the GIL most of the time."""
SNAPSHOT_S = 0.5
PLOT_S = 5.0
HEADER_S = 0.9
"""A live plot redraws at most this often (a redraw rewrites its whole area; the numbers tick at 1 Hz)."""
PROCS_S = 1.0
TABS = ("metrics", "log", "system", "config", "checkpoints", "reproduce")


class RunViewScreen(RunActions):
    CSS_PATH = "run_view.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("m", "next_metric", "Metric"),
        Binding("M", "next_metric(-1)", "Prev metric", show=False),
        Binding("o", "overlay", "Train/val"),
        Binding("x", "axis", "Step/epoch"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "next_match(-1)", "Prev match", show=False),
        Binding("f", "follow", "Follow"),
        Binding("l", "log_source", "Log/stdout"),
        Binding("s", "stop", "Stop"),
        Binding("r", "resume", "Resume"),
        *[Binding(str(i + 1), f"tab('{tab}')", tab.title(), show=False) for i, tab in enumerate(TABS)],
    ]

    def __init__(self, settings: Settings, name: str,
                 localtime: Localtime = time.localtime) -> None:
        super().__init__()
        self.settings, self.run_name, self.localtime = settings, name, localtime
        self.run_dir = settings.save_dir / name
        self.run_watch = RunWatch(self.run_dir)
        self.snapshot: RunSnapshot | None = None
        self._taken_at = 0.0
        self._wake = threading.Event()
        self._gpu_mem: dict[int, int] = {}
        self.chosen: str | None = None
        """The metric the user picked (`m`, the table); None follows the first (validation) one."""
        self.overlay = False
        self.axis = "step"
        self._dirty = False
        self._opened_log = self._shown_traceback = False
        self._shown: dict[str, object] = {}
        self._gpus: GpusShared | None = None
        self._plotted_at = -PLOT_S
        self._header_at = -1.0

    def compose(self) -> ComposeResult:
        with Vertical(id="header"):
            yield Line(id="title")
            yield Line(id="progress")
            yield Line(id="timing")
            yield Line(id="error")
        with TabbedContent(id="tabs", initial="metrics"):
            with TabPane("Metrics", id="metrics"), Horizontal():
                yield MetricPlot(id="plot")
                yield CellTable(id="metric-table", cursor_type="row", zebra_stripes=False)
            with TabPane("Log", id="log"):
                yield LogPanel(LOG_SOURCES)
            with TabPane("System", id="system"):
                yield Line(id="gpu-panel")
                yield CellTable(id="procs", cursor_type="row", zebra_stripes=False)
            with TabPane("Config", id="config"), VerticalScroll():
                yield Static("", id="config-text")
            with TabPane("Checkpoints", id="checkpoints"):
                yield DataTable(id="ckpts", cursor_type="row", zebra_stripes=False)
            with TabPane("Reproduce", id="reproduce"), VerticalScroll():
                yield Static("", id="reproduce-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#metric-table", DataTable).add_columns("metric", "latest", "best @ep")
        self.query_one("#procs", DataTable).add_columns("pid", "role", "name", "CPU %", "RSS", "GPU mem")
        self.query_one("#ckpts", DataTable).add_columns("file", "size", "epoch", "step", "monitor",
                                                         "value", "written")
        want_gpus = getattr(self.app, "want_gpus", None)
        if want_gpus is not None:
            want_gpus(self)
        self.follow_run()
        if self.settings.live:
            self.set_interval(min(1.0, max(0.25, self.settings.refresh_s)), self._tick)

    def on_unmount(self) -> None:
        self._wake.set()
        release_gpus = getattr(self.app, "release_gpus", None)
        if release_gpus is not None:
            release_gpus(self)

    # ---- the worker: events, logs and processes of this run ----

    @work(thread=True, exclusive=True, group="run-view")
    def follow_run(self) -> None:
        worker, next_procs, next_snapshot, first = get_current_worker(), 0.0, 0.0, True
        while not worker.is_cancelled:
            now = self.settings.clock()
            due = time.monotonic() >= next_snapshot
            snapshot, logs = self.run_watch.poll(now, force=first, snapshot=due)
            for source, lines in logs.items():  # before the snapshot: a failed run's traceback is in
                if lines:                         # the log by the time its status says failed
                    self.post_message(LogLinesRead(source, lines))
            if snapshot is not None:
                self.post_message(RunSnapshotReady(snapshot, now))
                next_snapshot = time.monotonic() + SNAPSHOT_S
            if time.monotonic() >= next_procs or first:
                self.post_message(ProcsSampled(self.run_watch.procs(self._gpu_mem)))
                next_procs = time.monotonic() + PROCS_S
            first = False
            if not self.settings.live:
                return
            self._wake.wait(BACKFILL_PAUSE_S if self.run_watch.loader.backfilling else POLL_S)
            self._wake.clear()

    # ---- handlers ----

    @on(RunSnapshotReady)
    def snapshot_ready(self, message: RunSnapshotReady) -> None:
        first = self.snapshot is None
        if self.snapshot is None or self.snapshot.gpus != message.snapshot.gpus:
            self.call_after_refresh(self._show_gpus)
        self.snapshot, self._taken_at = message.snapshot, message.taken_at
        self._show_header(force=first or message.snapshot.status != "running")
        self._dirty = True
        if first or not self.settings.live:
            self._show_details()
        if message.snapshot.status == "failed" and not self._opened_log:
            self._opened_log = True
            self.action_tab("log")
            self.call_after_refresh(self._jump_to_error)

    def _tick(self) -> None:
        self._show_header(force=True)
        if self._dirty:
            self._show_details()

    def _show_header(self, force: bool = True) -> None:
        """Painted at most about once a second (the 1 Hz tick, or a snapshot a second after the last
        paint): a live run's step changes every snapshot, and each paint rewrites the changed lines."""
        if not force and time.monotonic() - self._header_at < HEADER_S:
            return
        self._header_at = time.monotonic()
        snap = self.snapshot
        if snap is None:
            self.query_one("#title", Line).set(f"{self.run_name}  (reading…)")
            return
        now = self.settings.clock()
        progress = advance(snap.progress, now - self._taken_at) if snap.status == "running" \
            else snap.progress
        title = Text(title_line(snap.name, snap.status, snap.config, snap.host, snap.gpus))
        title.stylize(STATUS_STYLES.get(snap.status, ""), 0, len(snap.status) + 2)
        if snap.bad_lines:
            title.append(f"  ({snap.bad_lines} bad event lines skipped)", "yellow")
        if snap.loading:
            title.append("  loading history…", "dim")
        self.query_one("#title", Line).set(title)
        width = (self.size.width or 80) - 2  # the header's padding
        self.query_one("#progress", Line).set(progress_line(progress, width))
        self.query_one("#timing", Line).set(timing_line(progress, now, self.localtime))
        error = _error_text(snap)
        error_widget = self.query_one("#error", Line)
        error_widget.set(error)
        if error_widget.display != bool(error.plain):
            error_widget.display = bool(error.plain)

    def _show_details(self) -> None:
        self._dirty = False
        snap = self.snapshot
        if snap is None:
            return
        if self.query_one(TabbedContent).active == "metrics" or not self.settings.live:
            self._show_plot(force=not self.settings.live)
        self._show_metric_table(snap)
        if snap.checkpoints != self._shown.get("ckpts"):
            self._shown["ckpts"] = snap.checkpoints
            self._show_checkpoints(snap)
        if snap.config_text and snap.config_text != self._shown.get("config"):
            self._shown["config"] = snap.config_text
            syntax = Syntax(snap.config_text, "yaml", theme="ansi_dark", background_color="default")
            self.query_one("#config-text", Static).update(syntax)
        if snap.reproduce != self._shown.get("reproduce"):
            self._shown["reproduce"] = snap.reproduce
            self.query_one("#reproduce-text", Static).update(snap.reproduce)

    def _show_metric_table(self, snap: RunSnapshot) -> None:
        """Cells change in place; rows are rebuilt only when the set of metrics changed."""
        table = self.query_one("#metric-table", DataTable)
        labels = tuple(m.label for m in snap.metrics)
        if labels != self._shown.get("labels"):
            self._shown["labels"] = labels
            table.clear()
            for row in snap.metrics:
                table.add_row(*metric_cells(row), key=row.label)
        else:
            for row in snap.metrics:
                for column, value in zip(table.columns, metric_cells(row), strict=False):
                    if table.get_cell(row.label, column) != value:
                        table.update_cell(row.label, column, value)
        shown = self._labels()
        if shown and table.cursor_row != labels.index(shown[0]):
            table.move_cursor(row=labels.index(shown[0]))

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "metrics":
            self._show_plot()
        elif event.pane.id == "log":
            self.query_one(LogPanel).flush()

    def _show_checkpoints(self, snap: RunSnapshot) -> None:
        table = self.query_one("#ckpts", DataTable)
        table.clear()
        for c in snap.checkpoints:
            table.add_row(c.name, size_text(c.size), "" if c.epoch is None else str(c.epoch + 1),
                          "" if c.step is None else str(c.step), c.monitor or "", number(c.value),
                          time.strftime("%m-%d %H:%M:%S", self.localtime(c.mtime)))

    # ---- metrics ----

    def _labels(self) -> tuple[str, ...]:
        snap = self.snapshot
        if snap is None or not snap.metrics:
            return ()
        labels = [m.label for m in snap.metrics]
        current = self.chosen if self.chosen in labels else labels[0]
        if self.overlay:
            pair = overlay_pair(labels, current) or overlay_pair(labels, "loss")
            if pair:
                return pair
        return (current,)

    def _show_plot(self, force: bool = True) -> None:
        """`force=False` (new points of a live run): at most every `PLOT_S`."""
        snap = self.snapshot
        if snap is None or (not force and time.monotonic() - self._plotted_at < PLOT_S):
            return
        self._plotted_at = time.monotonic()
        self.query_one(MetricPlot).show(snap.series, self._labels(), self.axis, snap.steps_per_epoch)

    def action_next_metric(self, step: int = 1) -> None:
        if self.snapshot and self.snapshot.metrics:
            labels = [m.label for m in self.snapshot.metrics]
            index = labels.index(self.chosen) if self.chosen in labels else 0
            self.chosen = labels[(index + step) % len(labels)]
            self.query_one("#metric-table", DataTable).move_cursor(row=labels.index(self.chosen))
            self._show_plot()

    @on(DataTable.RowHighlighted, "#metric-table")
    def metric_highlighted(self, event: DataTable.RowHighlighted) -> None:
        label = event.row_key.value
        if self.snapshot and label and self.query_one(
                "#metric-table", DataTable).has_focus:
            self.chosen = str(label)
            self._show_plot()

    def action_overlay(self) -> None:
        self.overlay = not self.overlay
        self._show_plot()

    def action_axis(self) -> None:
        self.axis = "epoch" if self.axis == "step" else "step"
        self._show_plot()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    # ---- log ----

    @on(LogLinesRead)
    def log_lines(self, message: LogLinesRead) -> None:
        self.query_one(LogPanel).add_lines(message.source, message.lines)
        if self._opened_log and not self._shown_traceback:
            self.call_after_refresh(self._jump_to_error)

    def action_follow(self) -> None:
        panel = self.query_one(LogPanel)
        panel.set_follow(not panel.follow)

    def action_log_source(self) -> None:
        self.query_one(LogPanel).next_source()

    def action_search(self) -> None:
        self.action_tab("log")
        self.query_one(LogPanel).open_search()

    def action_next_match(self, direction: int = 1) -> None:
        self.query_one(LogPanel).next_match(backwards=direction < 0)

    def _jump_to_error(self) -> None:
        """A failed run opens on its log, at the last traceback or `error:` line (tried again as log
        lines arrive, until one is found)."""
        if not self._shown_traceback:
            self._shown_traceback = self.query_one(LogPanel).jump_to_error()

    # ---- system ----

    @on(ProcsSampled)
    def procs_sampled(self, message: ProcsSampled) -> None:
        table = self.query_one("#procs", DataTable)
        pids = tuple(str(row.pid) for row in message.rows)
        if pids != tuple(key.value for key in table.rows):
            table.clear()
            for row in message.rows:
                table.add_row(*proc_cells(row), key=str(row.pid))
            return
        for row in message.rows:
            for column, value in zip(table.columns, proc_cells(row), strict=False):
                if table.get_cell(str(row.pid), column) != value:
                    table.update_cell(str(row.pid), column, value)

    @on(GpusShared)
    def gpus_shared(self, message: GpusShared) -> None:
        self._gpus = message
        self._gpu_mem = {pid: mem for g in message.sample.gpus for pid, mem in g.processes if mem is not None}
        self._show_gpus()

    def _show_gpus(self) -> None:
        """The run's GPUs (from its devices, or any GPU its processes are on); else CPU and RAM."""
        if self._gpus is None:
            return
        sample, history = self._gpus.sample, self._gpus.history
        mine = run_gpu_indices(self.snapshot.gpus if self.snapshot else "")
        pids = {int(k.value) for k in self.query_one("#procs", DataTable).rows if k.value}
        used = {g.index for g in sample.gpus if any(pid in pids for pid, _ in g.processes)}
        gpus = [g for g in sample.gpus if g.index in mine | used]
        if gpus:
            lines = [gpu_line(g, history) for g in gpus]
        elif sample.gpus:
            lines = ["this run uses no GPU", *host_lines(history, None)]
        else:
            lines = host_lines(history, sample.no_gpu_reason)
        self.query_one("#gpu-panel", Line).set("\n".join(lines))

    # ---- back; stop and resume come from RunActions ----

    def action_back(self) -> None:
        panel = self.query_one(LogPanel)
        if panel.searching:
            panel.close_search()
            return
        self.app.pop_screen()

    def after_action(self) -> None:
        self._wake.set()


def _error_text(snap: RunSnapshot) -> Text:
    """The header's last line: the run's own error, else what is wrong with its directory."""
    error = error_line(snap.error)
    if error or not snap.problem:
        return Text(f"✘ {error}" if error else "", "bold red")
    style = "bold red" if snap.status == DAMAGED else "yellow"
    return Text(printable(f"! {snap.problem}"), style)  # wrapped: the header grows a line rather than cut it


def overlay_pair(labels: list[str], current: str) -> tuple[str, str] | None:
    """The train/val pair of the current metric (`train/loss` with `val/loss`), if both exist."""
    leaf = current.split("/", 1)[-1].removesuffix(" (epoch)")
    train = next((label for label in (f"train/{leaf}", f"train/{leaf} (epoch)") if label in labels), None)
    val = f"val/{leaf}"
    if train and val in labels:
        return train, val
    return None
