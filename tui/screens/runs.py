"""The home screen: the runs table, and the keys that launch, stop, kill, resume, filter, sort, annotate,
delete, mark, diff and compare runs, and reorder, remove from and pause the save dir's queue. Under the
table, one line says what is wrong with the selected run's directory (why it is damaged, its log's first
bad line, an unreadable meta.yaml, why it failed before it started), when anything is. The scan worker
also keeps the queue's runner alive while runs wait (`queue_actions.start_runner`)."""

from __future__ import annotations

import gc
import threading
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from torchx.experiment import RUN_JSON
from tui.launch import backends
from tui.messages import ActionFinished, ForkPrefilled, RunsChanged, StopOverdue
from tui.run.files import Meta, read_run_json
from tui.run.jobs import SlurmError
from tui.run.status import ACTIVE, DAMAGED, IN_QUEUE, NOT_A_RUN, RESUMABLE, queued_block
from tui.screens.confirm import ConfirmScreen, on_yes
from tui.screens.run_actions import (
    kill_and_report,
    overdue_question,
    reported,
    resume_and_report,
    resume_question,
    stop_and_report,
)
from tui.table.rows import RunRow
from tui.table.scanner import RunsScanner
from tui.table.start_watch import StartWatch
from tui.text import full_name_text, problem_text, size_text
from tui.widgets.filter_bar import FilterBar
from tui.widgets.line import Line
from tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from tui.launch.backends import RunHandle
    from tui.screens.launch import LaunchResult
    from tui.screens.tidy import TidyRequest
    from tui.settings import Settings

RUNNER_CHECK_S = 5.0
"""While runs wait in the queue, the scan looks this often for their runner (one lock try)."""
QUEUED = frozenset({IN_QUEUE})

# The dialogs and the history and queue actions load on first use, like the run view: a faster first paint.

class RunsScreen(Screen[None]):
    CSS_PATH = "runs.tcss"
    BINDINGS = [
        Binding("n", "launch", "New run"),
        Binding("s", "stop", "Stop"),
        Binding("K", "kill", "Kill"),
        Binding("r", "resume", "Resume"),
        Binding("g", "app.gpus", "GPUs"),
        Binding("slash", "filter", "Filter", key_display="/", show=False),
        Binding("o", "sort", "Sort", show=False),
        Binding("escape", "clear", "Clear filter/marks", show=False),
        Binding("e", "edit_meta", "Note/tags", show=False),
        Binding("D", "tidy", "Tidy/delete", show=False),
        Binding("u", "undo_delete", "Undo delete", show=False),
        Binding("f", "fork", "Fork", show=False),
        Binding("f5", "refresh", "Refresh", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("d", "diff", "Diff", show=False),
        Binding("c", "compare", "Compare", show=False),
        Binding("w", "sweep", "Sweep view", show=False),
        Binding("plus", "queue_move(-1)", "Queue: move up", key_display="+", show=False),
        Binding("minus", "queue_move(1)", "Queue: move down", key_display="-", show=False),
        Binding("p", "queue_pause", "Queue: pause/resume", show=False),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.scanner = RunsScanner(settings.save_dir, cache_dir=settings.cache_dir)
        self._wake = threading.Event()
        self._pending_select: str | None = None
        self._start_watch = StartWatch()
        self._summary = ""
        self.queue_paused = False
        """Whether the save dir's queue is paused, as the scan last saw it."""
        self._runner_due = 0.0
        self._was_covered = False

    def compose(self) -> ComposeResult:
        yield Static(f"torchx · {self.settings.save_dir}", id="summary", markup=False)
        yield RunsTable(self.settings.clock, id="runs")
        yield Line(id="detail")
        yield FilterBar(id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.scan_runs()
        self._ticker = self.set_interval(1.0, self._tick, pause=not self.settings.live)

    def on_unmount(self) -> None:
        """The app is quitting: Python waits for the scan thread at exit, so it must end now, not
        after its current poll (a long first scan, worker processes included) or its sleep."""
        self.scanner.stop()
        self._wake.set()

    @property
    def covered(self) -> bool:
        """Whether a screen that hides this one is on top (a dialog lets the table show through).

        A covered screen must stay quiet, not just unseen: Textual repaints the whole screen above for
        any change here, and once it has, again after every message this screen handles. So while
        covered the 1 Hz tick pauses and the scan holds its results."""
        return self.app.screen is not self and not isinstance(self.app.screen, ModalScreen)

    def _tick(self) -> None:
        self.table.tick()

    def on_screen_suspend(self) -> None:
        if self.covered:
            self._ticker.pause()
            self._was_covered = True

    def on_screen_resume(self) -> None:
        if self.settings.live:
            self._ticker.resume()
        if self._was_covered:  # not at the first show: the first poll is on its way
            self._was_covered = False
            self._wake.set()  # the scan hands over what it held
        self.table.tick()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    # ---- the scan worker ----

    @work(thread=True, exclusive=True, group="scan")
    def scan_runs(self) -> None:
        worker = get_current_worker()
        first, polls = True, 0
        held: RunsChanged | None = None  # while `covered`
        while not (worker.is_cancelled or self.scanner.stopped):
            if polls < 2:  # start-up's objects, then the first scan's rows, live as long as the app:
                gc.freeze()  # the cyclic collector (a gen-2 pass costs ~0.1 s by 10,000 runs) skips them
            for changed, removed in self.scanner.poll_batches():
                if changed or removed or first:
                    news = RunsChanged(changed, removed, len(self.scanner.trackers))
                    held = news if held is None else _merged(held, news)
                first = False
                held = self._post_unless_covered(held)
            held = self._post_unless_covered(self._watch_queue(held))
            polls += 1
            self.settings.launcher.reap()
            if self.settings.live:
                self._wake.wait(self.settings.refresh_s)
                self._wake.clear()
            self.scanner.save_cache()  # a tick after the rows were shown: it never slows the first fill
            if not self.settings.live:
                return

    def _watch_queue(self, held: RunsChanged | None) -> RunsChanged | None:
        """In the scan thread, after a poll: a runner for runs or sweeps that wait without one (its runner
        was killed, or this TUI starts on a queue whose runner is gone), and news when the queue's pause
        changes (the summary line says so)."""
        from tui.screens import queue_actions

        if time.monotonic() >= self._runner_due:
            self._runner_due = time.monotonic() + RUNNER_CHECK_S
            if self.scanner.queued_count or queue_actions.sweeps_waiting(self.settings.save_dir):
                problem = queue_actions.keep_runner(self.settings)  # a read-only save dir: try much later
                if problem:
                    self._runner_due = time.monotonic() + 60.0
                    self.post_message(ActionFinished(problem, error=True))
        now_paused = queue_actions.queue_paused(self.settings.save_dir)
        if now_paused == self.queue_paused:
            return held
        self.queue_paused = now_paused
        news = RunsChanged([], [], len(self.scanner.trackers))
        return news if held is None else _merged(held, news)

    def _post_unless_covered(self, held: RunsChanged | None) -> RunsChanged | None:
        """Post `held` (from the scan thread) unless a screen covers this one; what is still held."""
        if held is None or self.covered:
            return held
        self.post_message(held)
        return None

    @on(RunsTable.RowSelected, "#runs")
    def open_run(self, event: RunsTable.RowSelected) -> None:
        """`enter` on a row opens the run's live view."""
        if event.row_key.value is not None:
            self.app.open_run(str(event.row_key.value))  # type: ignore[attr-defined]

    @on(RunsTable.RowHighlighted, "#runs")
    def row_highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """What is wrong with the selected run's directory, else its whole name and tags when the name
        cell clips them, on the line under the table, wrapped (hidden when there is nothing to say)."""
        name = self.table.selected_name
        row = self.table.runs.get(name) if name else None
        problem = problem_text(row) if row is not None else ""
        text = problem or (full_name_text(row) if row is not None else "")
        detail = self.query_one("#detail", Line)
        style = "" if not problem else "red" if row is not None and row.status in (DAMAGED, "failed") \
            else "yellow"
        shown = detail.text
        detail.set(Text(text, style))
        if detail.display != bool(text):
            detail.display = bool(text)  # the table loses or gains a line (`RunsTable.on_resize`)
        elif text != shown:
            detail.refresh(layout=True)  # a wrapped text may take another number of lines

    def action_refresh(self) -> None:
        self._wake.set()

    @on(RunsChanged)
    def show_runs(self, message: RunsChanged) -> None:
        self.table.apply(message.changed, message.removed)
        for row in message.changed:
            failure = self._start_watch.update(row)
            if failure:
                self.notify(failure, severity="error", timeout=15)
        if self._pending_select in self.table.runs:
            self.table.move_cursor(row=self.table.get_row_index(self._pending_select))
            self._pending_select = None
        counts: dict[str, int] = {}
        for row in self.table.runs.values():
            counts[row.status] = counts.get(row.status, 0) + 1
        parts = [f"{n} {status}" for status, n in sorted(counts.items())]
        paused = "queue paused · " if self.queue_paused else ""  # first: 80 columns clip a long path
        text = f"torchx · {paused}{self.settings.save_dir} · {message.total} dirs"
        text += " · " + ", ".join(parts) if parts else ""
        if text != self._summary:  # `update` lays the screen out again
            self._summary = text
            self.query_one("#summary", Static).update(text)
        self._show_counts()
        self._show_detail()

    # ---- filter and sort ----

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def action_clear(self) -> None:
        """`escape`: closes the filter bar and clears its filter if either is there, else clears the marks."""
        if self.table.run_filter or self.query_one(FilterBar).is_open:
            self.query_one(FilterBar).clear()
            self.table.focus()
        else:
            self.table.clear_marks()

    @on(FilterBar.Applied)
    def filter_applied(self, message: FilterBar.Applied) -> None:
        if message.query.uses_config and not self.scanner.with_config:
            self.scanner.want_config()  # rows fill in as the scan reads each run's config.yaml
            self._wake.set()
            self.notify("reading the runs' config.yaml files for cfg. keys…")
        if message.query.text != self.table.run_filter.text:
            self.table.set_view(message.query, self.table.order)
        self._show_counts()
        if message.done:
            self.table.focus()

    def action_sort(self) -> None:
        from tui.screens.sort import SortScreen

        self.app.push_screen(SortScreen(self.table.order), self._sort_by)

    @on(RunsTable.HeaderSelected, "#runs")
    def header_selected(self, event: RunsTable.HeaderSelected) -> None:
        self._sort_by(str(event.column_key.value))

    def _sort_by(self, column: str | None) -> None:
        if column is not None:
            self.table.set_view(self.table.run_filter, self.table.order.then(column))
            self._show_counts()

    def _show_counts(self) -> None:
        table, bar = self.table, self.query_one(FilterBar)
        if table.run_filter and not bar.has_error:
            bar.show_status(f"{len(table.shown)} of {len(table.runs)} runs · sorted by {table.order.label()}")

    # ---- marks, diff, compare ----

    def action_mark(self) -> None:
        name = self.table.selected_name
        if name in self.table.runs:
            self.table.toggle_mark(name)

    def _chosen(self) -> list[RunRow]:
        """The marked runs, oldest first; with one marked, it and the selected run."""
        names = list(self.table.marked)
        selected = self.table.selected_name
        if len(names) == 1 and selected in self.table.runs and selected not in names:
            names.append(selected)
        rows = [self.table.runs[name] for name in names if name in self.table.runs]
        return sorted(rows, key=lambda row: row.sort_key, reverse=True)

    def action_diff(self) -> None:
        rows = self._chosen()
        if len(rows) != 2:
            self.notify(f"diff takes two runs: mark them with space ({len(self.table.marked)} marked; "
                        "escape clears)", severity="warning")
            return
        self.app.open_diff(*rows)  # type: ignore[attr-defined]

    def action_compare(self) -> None:
        rows = self._chosen()
        if len(rows) < 2:
            self.notify("compare takes two or more runs: mark them with space", severity="warning")
            return
        self.app.open_compare(rows)  # type: ignore[attr-defined]

    def action_sweep(self) -> None:
        """`w`: the view of the sweep whose trial the selected run is."""
        row = self._row()
        if row is None:
            return
        if not row.sweep:
            self.notify(f"'{row.name}' is not a sweep's trial", severity="warning", timeout=2)
            return
        self.app.open_sweep(row.sweep)  # type: ignore[attr-defined]

    # ---- launch ----

    def action_launch(self) -> None:
        from tui.screens.launch import LaunchScreen

        self.app.push_screen(LaunchScreen(self.settings), self._launched)

    def action_fork(self) -> None:
        row = self._row()
        if row is not None and row.status in (NOT_A_RUN, DAMAGED):
            self.notify(f"cannot fork '{row.name}': it is {row.status}", severity="warning")
        elif row is not None:
            self.prepare_fork(row.name)

    @work(thread=True, exclusive=True, group="fork")
    @reported("fork '{0}'")
    def prepare_fork(self, name: str) -> None:
        from tui.launch.fork import fork_prefill

        self.post_message(ForkPrefilled(fork_prefill(self.settings.save_dir / name, self.settings.clock())))

    @on(ForkPrefilled)
    def open_fork(self, message: ForkPrefilled) -> None:
        from tui.screens.launch import LaunchScreen

        self.notify(message.prefill.note)
        self.app.push_screen(LaunchScreen(self.settings, message.prefill), self._launched)

    def _launched(self, result: LaunchResult | None) -> None:
        if result is None:
            return
        if result.resume:
            self._confirm_resume(result.name)
            return
        place = f" (#{result.place})" if result.place else ""
        self.notify(f"queued '{result.name}'{place}" if result.queued else f"launched {result.name}")
        if not result.queued:
            self._start_watch.expect(result.name, fresh=True)
        self._wake.set()
        self._pending_select = result.name  # the cursor moves to it when the scan shows it

    # ---- stop, kill, resume ----

    def _selected(self, allowed: frozenset[str], verb: str) -> str | None:
        name = self.table.selected_name
        row = self.table.runs.get(name) if name else None
        if row is None:
            self.notify("no run selected", severity="warning")
            return None
        if row.status not in allowed:
            self.notify(f"cannot {verb} '{name}': it is {row.status}", severity="warning")
            return None
        return name

    def action_stop(self) -> None:
        name = self._selected(ACTIVE, "stop")
        if name:
            question = f"Stop run '{name}'? (SIGINT: it saves last.ckpt and can be resumed)"
            self.app.push_screen(ConfirmScreen(question), on_yes(lambda: self.stop_run(name)))

    def action_kill(self) -> None:
        """`K`: kill the run; a queued one is taken out of the queue instead (it has nothing to kill)."""
        row = self.table.runs.get(self.table.selected_name or "")
        if row is not None and row.status == IN_QUEUE:
            question = f"Remove '{row.name}' from the queue? (its directory moves to the trash; u undoes)"
            self.app.push_screen(ConfirmScreen(question), on_yes(lambda: self.edit_queue("remove", row.name)))
            return
        name = self._selected(ACTIVE | {"lost"}, "kill")  # lost: ranks or workers may linger
        if name:
            # a cached row's tracker has no run.json; this read never blocks (a regular file only)
            run_json = read_run_json(self.settings.save_dir / name / RUN_JSON)[0]
            question = f"Kill run '{name}'? ({backends.kill_note(run_json)})"
            self.app.push_screen(ConfirmScreen(question), on_yes(lambda: self.kill_run(name)))

    def action_resume(self) -> None:
        name = self._selected(RESUMABLE, "resume")
        if name:
            self._confirm_resume(name)

    def _confirm_resume(self, name: str) -> None:
        row = self.table.runs.get(name)
        if row is None or row.status not in RESUMABLE:
            status = row.status if row else "unknown"
            self.notify(f"cannot resume '{name}': it is {status}", severity="warning")
            return
        problem, question = resume_question(name, self.settings.save_dir / name)
        if problem:
            self.notify(problem, severity="warning")
            return
        self.app.push_screen(ConfirmScreen(question), on_yes(lambda: self._resume(name)))

    def _resume(self, name: str) -> None:
        self._start_watch.expect(name, fresh=False)
        self.resume_run(name)

    def _handle(self, name: str) -> RunHandle | None:
        tracker = self.scanner.trackers.get(name)
        summary = tracker.summary if tracker else None
        return backends.handle(self.settings.save_dir / name, summary and summary.pid,
                               summary and summary.create_time, summary and summary.boot_time)

    @work(thread=True, group="actions")
    @reported("stop '{0}'")
    def stop_run(self, name: str) -> None:
        stop_and_report(self.post_message, name, self._handle(name), self.settings.stop_grace_s)

    @work(thread=True, group="actions")
    @reported("kill '{0}'")
    def kill_run(self, name: str, handle: RunHandle | None = None) -> None:
        kill_and_report(self.post_message, name, handle or self._handle(name))

    @work(thread=True, group="actions")
    @reported("resume '{0}'")
    def resume_run(self, name: str) -> None:
        resume_and_report(self.post_message, self.settings, name, self.settings.save_dir / name)

    @on(ActionFinished)
    def action_finished(self, message: ActionFinished) -> None:
        self.notify(message.text, severity="error" if message.error else "information")
        self._wake.set()

    @on(StopOverdue)
    def stop_overdue(self, message: StopOverdue) -> None:
        question = overdue_question(message.name, self.settings.stop_grace_s)
        self.app.push_screen(ConfirmScreen(question),
                             on_yes(lambda: self.kill_run(message.name, message.handle)))

    # ---- the queue ----

    def action_queue_move(self, delta: int) -> None:
        """`+`/`-`: the selected queued run one place towards the front / the back."""
        name = self._selected(QUEUED, "reorder")
        if name:
            self.edit_queue("move", name, delta)

    def action_queue_pause(self) -> None:
        self.edit_queue("pause")

    @work(thread=True, group="actions")
    @reported("edit the queue ({0})")
    def edit_queue(self, edit: str, name: str = "", delta: int = 0) -> None:
        """`remove` (`K`, `D`), `move` (`+`/`-`) or `pause` (`p`: pause or resume), under the queue's lock
        where its runner could race the edit (`queue_actions.edit_and_report`)."""
        from tui.screens.queue_actions import edit_and_report

        edit_and_report(self.post_message, self.settings, edit, name, delta)

    # ---- notes and tags, tidy and undo ----

    def _row(self) -> RunRow | None:
        name = self.table.selected_name
        row = self.table.runs.get(name) if name else None
        if row is None:
            self.notify("no run selected", severity="warning")
        return row

    def action_edit_meta(self) -> None:
        row = self._row()
        if row is None:
            return
        if row.status == NOT_A_RUN:
            self.notify(f"'{row.name}' is not a run", severity="warning")
        elif row.meta_error:
            self.notify(f"cannot edit the note of '{row.name}': {row.meta_error} (fix or delete the file)",
                        severity="error")
        else:
            from tui.screens.notes import NotesScreen

            def edited(meta: Meta | None) -> None:
                if meta is not None:
                    self.save_meta(row.name, meta)

            self.app.push_screen(NotesScreen(row.name, Meta(row.note, row.tags)), edited)

    @work(thread=True, group="actions")
    @reported("save the note of '{0}'")
    def save_meta(self, name: str, meta: Meta) -> None:
        from tui.screens.history_actions import save_meta_and_report

        if save_meta_and_report(self.post_message, self.settings.save_dir / name, meta):
            self.scanner.refresh_soon(name)

    def action_tidy(self) -> None:
        row = self._row()
        if row is not None:
            from tui.screens.tidy import TidyScreen

            self.app.push_screen(TidyScreen(row, self.settings.save_dir),
                                 lambda request: self._tidy(row.name, request))

    def _tidy(self, name: str, request: TidyRequest | None) -> None:
        if request is None:
            return
        row = self.table.runs.get(name)
        if request.kind == "run" and row is not None and row.status == IN_QUEUE:
            self.edit_queue("remove", name)  # under the queue's lock: its runner must not launch it
            return
        if request.kind != "empty":
            self.tidy_run(name, request.kind)
            return
        count, size = request.trash
        question = (f"Empty the trash: {count} deleted run(s) or checkpoint set(s), {size_text(size)}? "
                    "This cannot be undone.")
        self.app.push_screen(ConfirmScreen(question), on_yes(lambda: self.empty_trash()))

    @work(thread=True, group="actions")
    @reported("tidy '{0}'")
    def tidy_run(self, name: str, kind: str) -> None:
        """The process check is done again here, whatever the table last showed."""
        from tui.screens.history_actions import trash_and_report

        try:
            busy = backends.busy(self._handle(name), self.settings.save_dir / name)
        except SlurmError as exc:
            text = f"cannot delete '{name}': Slurm cannot say whether it runs ({exc})"
            self.post_message(ActionFinished(text, error=True))
            return
        if trash_and_report(self.post_message, self.settings.save_dir, name, kind, busy):
            self.scanner.refresh_soon(name)

    @work(thread=True, group="actions")
    @reported("empty the trash")
    def empty_trash(self) -> None:
        from tui.screens.history_actions import empty_trash_and_report

        empty_trash_and_report(self.post_message, self.settings.save_dir)

    def action_undo_delete(self) -> None:
        self.undo_delete()

    @work(thread=True, group="actions")
    @reported("undo the delete")
    def undo_delete(self) -> None:
        from tui.screens.history_actions import newest_entry, restore_and_report

        entry = newest_entry(self.post_message, self.settings.save_dir)
        if entry is None:
            return
        self._pending_select = entry.run  # before the scan can see it back
        if restore_and_report(self.post_message, self.settings.save_dir, entry):
            self.scanner.refresh_soon(entry.run)
            if queued_block(read_run_json(self.settings.save_dir / entry.run / RUN_JSON)[0]) is not None:
                from tui.screens.queue_actions import start_runner

                start_runner(self.settings)  # back in the queue: it needs a runner
        else:
            self._pending_select = None


def _merged(first: RunsChanged, then: RunsChanged) -> RunsChanged:
    """Two scan results as one: the later row of a run wins; a run removed then seen again is back."""
    changed = {row.name: row for row in first.changed}
    removed = dict.fromkeys(name for name in first.removed if name not in {r.name for r in then.changed})
    for name in then.removed:
        changed.pop(name, None)
        removed[name] = None
    changed.update((row.name, row) for row in then.changed)
    return RunsChanged(list(changed.values()), list(removed), then.total)
