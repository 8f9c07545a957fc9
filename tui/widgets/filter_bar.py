"""The runs table's filter line: parses as the user types (debounced) and says what is wrong, if anything."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, Static

from tui.table.query import Query, QueryError, parse

DEBOUNCE_S = 0.15
PLACEHOLDER = "words  status:failed  config:digits*  val/acc>0.9  cfg.key<1e-3  tag:x  started>2026-11-01"


class FilterBar(Static):
    """Hidden until `/`; stays shown while a filter applies. Posts `Applied` with each valid query."""

    DEFAULT_CSS = """
    FilterBar { height: auto; display: none; }
    FilterBar.-open { display: block; }
    FilterBar Horizontal { height: 1; }
    FilterBar #filter-label { width: 2; color: $accent; }
    FilterBar #filter-status { height: 1; padding: 0 1; color: $text-muted; }
    FilterBar #filter-status.error { color: $error; }
    """

    @dataclass
    class Applied(Message):
        query: Query
        done: bool = False
        """`enter` was pressed: the user is done typing."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("/", id="filter-label")
            yield Input(id="filter-input", compact=True, placeholder=PLACEHOLDER)
        yield Static("", id="filter-status", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def has_error(self) -> bool:
        """The line does not parse; the table still shows the last good query."""
        return self.query_one("#filter-status").has_class("error")

    def open(self) -> None:
        self.add_class("-open")
        self.input.focus()

    def clear(self) -> None:
        """Empty the filter and hide the bar; every run is shown again."""
        if self._debounce is not None:
            self._debounce.stop()
        with self.input.prevent(Input.Changed):
            self.input.value = ""
        self.remove_class("-open")
        self.show_status("")
        self.post_message(self.Applied(Query("")))

    def show_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#filter-status", Static)
        status.update(text)
        status.set_class(error, "error")

    @on(Input.Changed, "#filter-input")
    def _typed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, self.apply_now)

    @on(Input.Submitted, "#filter-input")
    def _submitted(self) -> None:
        self.apply_now(done=True)

    def apply_now(self, done: bool = False) -> None:
        """Parse the line; a bad query is reported and leaves the table as it was."""
        if self._debounce is not None:
            self._debounce.stop()
        try:
            query = parse(self.input.value)
        except QueryError as exc:
            self.show_status(f"✘ {exc}", error=True)
            return
        self.show_status("")  # the screen shows the counts for a good query
        self.post_message(self.Applied(query, done))
