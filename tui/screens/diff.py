"""Two runs side by side: config keys that differ, the code snapshots' diff, git state and versions.

A worker reads and compares both run directories (`tui.history.diff`); the screen only colours the rows. Every
difference carries a symbol as well as a colour (`~` changed, `+` only in B, `-` only in A), so the
screen reads the same with NO_COLOR.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from tui.history.diff import ADDED, CHANGED, REMOVED, SAME, KeyDiff, RunsDiff, SrcDiff, diff_runs
from tui.messages import DiffReady
from tui.text import started_text, status_text
from tui.widgets.line import Line

if TYPE_CHECKING:
    from tui.settings import Settings
    from tui.table.rows import RunRow

TABS = ("config", "code", "git")
MARKS = {CHANGED: ("~", "yellow"), ADDED: ("+", "green"), REMOVED: ("-", "red"), SAME: (" ", "")}
MISSING = Text("(missing)", "dim italic")
MAX_KEY_WIDTH = 36
"""Wider key paths break after a dot (values fold first)."""


class DiffScreen(Screen[None]):
    CSS_PATH = "diff.tcss"
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("a", "toggle_all", "All keys"),
        *[Binding(str(i + 1), f"tab('{tab}')", tab.title(), show=False) for i, tab in enumerate(TABS)],
    ]

    def __init__(self, settings: Settings, a: RunRow, b: RunRow) -> None:
        super().__init__()
        self.settings, self.a, self.b = settings, a, b
        self.diff: RunsDiff | None = None
        self.show_all = False

    def compose(self) -> ComposeResult:
        yield Line(_run_line("A", self.a), id="run-a")
        yield Line(_run_line("B", self.b), id="run-b")
        with TabbedContent(id="tabs", initial="config"):
            for tab in TABS:
                with TabPane(tab.title(), id=tab), VerticalScroll():
                    yield Static("comparing…" if tab == "config" else "", id=f"{tab}-diff")
        yield Footer()

    def on_mount(self) -> None:
        self.compare()

    @work(thread=True, exclusive=True, group="diff")
    def compare(self) -> None:
        save = self.settings.save_dir
        self.post_message(DiffReady(diff_runs(save / self.a.name, save / self.b.name)))

    @on(DiffReady)
    def diff_ready(self, message: DiffReady) -> None:
        self.diff = message.diff
        self._show_config()
        self._static("code").update(code_view(self.diff.src))
        self._static("git").update(key_table(self.diff.git, "field", show_all=True))
        tabs = self.query_one(TabbedContent)
        config = "✘" if self.diff.config_error else sum(r.kind != SAME for r in self.diff.config)
        tabs.get_tab("config").label = f"Config {config}"
        tabs.get_tab("code").label = f"Code {len(self.diff.src.files)}"
        tabs.get_tab("git").label = f"Git {sum(r.kind != SAME for r in self.diff.git)}"

    def shown_keys(self) -> list[str]:
        """The key paths on the config tab now."""
        rows = self.diff.config if self.diff else ()
        return [r.key for r in rows if self.show_all or r.kind != SAME]

    def _show_config(self) -> None:
        diff = self.diff
        if diff is None:
            return
        if diff.config_error:
            self._static("config").update(Text(f"✘ {diff.config_error}", "bold red"))
            return
        differ = [r for r in diff.config if r.kind != SAME]
        counts = "  ".join(f"{MARKS[kind][0]}{sum(r.kind == kind for r in differ)} {kind}"
                           for kind in (CHANGED, ADDED, REMOVED))
        toggle = "a: only those" if self.show_all else f"a: all {len(diff.config)}"
        if differ:
            summary = f"{len(differ)} of {len(diff.config)} keys differ:  {counts}   ({toggle})"
        else:
            summary = f"the configs are the same ({len(diff.config)} keys; {toggle})"
        parts: list[RenderableType] = [Text(summary, "bold")]
        if differ or self.show_all:
            parts.append(key_table(diff.config, "key", self.show_all))
        self._static("config").update(Group(*parts))

    def _static(self, tab: str) -> Static:
        return self.query_one(f"#{tab}-diff", Static)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._show_config()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """The pane's scroll takes the keys, so up/down and page keys scroll the diff."""
        self.query_one(f"#{event.pane.id} VerticalScroll").focus()


def _run_line(letter: str, row: RunRow) -> Text:
    text = Text.assemble((f"{letter} ", "bold"), row.name, "  ", status_text(row))
    started = started_text(row)
    if started:
        text.append(f"  started {started}", "dim")
    return text


def key_table(rows: tuple[KeyDiff, ...], title: str, show_all: bool) -> Table:
    """Key, value in A, value in B; a key that differs carries its symbol and colour."""
    shown = [row for row in rows if show_all or row.kind != SAME]
    table = Table(box=None, expand=True, pad_edge=False, header_style="bold")
    table.add_column("", width=1, no_wrap=True)
    width = min(MAX_KEY_WIDTH, max((len(r.key) for r in shown), default=8))
    table.add_column(title, width=width, overflow="fold")
    table.add_column("A", ratio=1, overflow="fold")
    table.add_column("B", ratio=1, overflow="fold")
    for row in shown:
        symbol, style = MARKS[row.kind]
        key = Text(wrap_key(row.key, width), style)
        table.add_row(Text(symbol, style), key, _value(row.left), _value(row.right))
    return table


def wrap_key(key: str, width: int) -> str:
    """The key path broken after dots so that each line fits `width` (a longer part still folds)."""
    lines, line = [], ""
    for part in re.split(r"(?<=\.)", key):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    return "\n".join([*lines, line])


def _value(value: str | None) -> Text:
    return MISSING if value is None else Text(value)


def code_view(src: SrcDiff) -> Group:
    """The list of files that differ, then each changed file's unified diff."""
    counts = {kind: sum(f.kind == kind for f in src.files) for kind in (CHANGED, ADDED, REMOVED)}
    lines = [Text(f"src/: {counts[CHANGED]} changed, {counts[ADDED]} only in B, "
                  f"{counts[REMOVED]} only in A, {src.same} the same", "bold")]
    lines += [Text(f"✘ {name}: no src/ snapshot", "bold red") for name in src.missing]
    for f in src.files:
        symbol, style = MARKS[f.kind]
        lines.append(Text(f"{symbol} {f.path}" + (f"  ({f.note})" if f.note else ""), style))
    body = Text()
    for f in src.files:
        for line in f.lines:
            body.append(line + "\n", _diff_style(line))
    if src.truncated:
        body.append("… the rest is not shown (diff limit reached)\n", "dim")
    return Group(*lines, Text(""), body)


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    return {"+": "green", "-": "red"}.get(line[:1], "")
