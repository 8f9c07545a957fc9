"""The run's logs: `log.txt` or `stdout.log`, following new lines, searchable, with a status line."""

from __future__ import annotations

from collections import deque

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from tui.live.logtail import MAX_LINES
from tui.widgets.line import Line
from tui.widgets.search_log import SearchLog

TRACEBACK = "Traceback (most recent call last)"


class LogPanel(Vertical):
    """Keeps the recent lines of every source, shows one; `follow` keeps the newest line in view."""

    DEFAULT_CSS = """
    LogPanel #log-status { background: $boost; padding: 0 1; }
    LogPanel #log-view { height: 1fr; }
    LogPanel #search { dock: bottom; display: none; }
    """

    def __init__(self, sources: tuple[str, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sources, self.source, self.follow = sources, sources[0], True
        self._lines: dict[str, deque[str]] = {s: deque(maxlen=MAX_LINES) for s in sources}

    def compose(self) -> ComposeResult:
        yield Line(id="log-status")
        yield SearchLog(id="log-view", max_lines=MAX_LINES)
        yield Input(id="search", placeholder="search the log (enter; n/N next/previous)", compact=True)

    def on_mount(self) -> None:
        self._update_status()

    @property
    def log_view(self) -> SearchLog:
        return self.query_one(SearchLog)

    @property
    def searching(self) -> bool:
        return bool(self.query_one("#search", Input).display)

    def add_lines(self, source: str, lines: list[str]) -> None:
        self._lines[source].extend(lines)
        if source == self.source:
            self.log_view.write_lines(lines, scroll_end=self.follow)
        self._update_status()

    def _update_status(self) -> None:
        others = [s for s in self.sources if s != self.source]
        parts = [f"{self.source} ({len(self._lines[self.source])} lines)",
                 "following" if self.follow else "paused (f follows)", f"l: {', '.join(others)}"]
        if self.log_view.search_query:
            parts.append(f"/{self.log_view.search_query}: {self.log_view.count_matches()} matching lines")
        self.query_one("#log-status", Line).set("  ·  ".join(parts))

    def set_follow(self, follow: bool) -> None:
        self.follow = self.log_view.auto_scroll = follow
        if follow:
            self.log_view.scroll_end(animate=False)
        self._update_status()

    def next_source(self) -> None:
        self.show_source(self.sources[(self.sources.index(self.source) + 1) % len(self.sources)])

    def show_source(self, source: str) -> None:
        self.source = source
        self.log_view.clear()
        self.log_view.write_lines(list(self._lines[source]), scroll_end=self.follow)
        self._update_status()

    def open_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        search.focus()

    def close_search(self) -> None:
        self.query_one("#search", Input).display = False
        self.log_view.focus()

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value.strip()
        self.set_follow(False)
        found = self.log_view.search(query)
        self.close_search()
        if query and found is None:
            self.notify(f"'{query}' not found in {self.source}", severity="warning")
        self._update_status()

    def next_match(self, backwards: bool = False) -> None:
        if self.log_view.search_query:
            self.set_follow(False)
            self.log_view.next_match(backwards=backwards)

    def jump_to_traceback(self) -> bool:
        """Show the last traceback, from the shown log or else another one (a run that crashed before
        writing `log.txt` has it only in `stdout.log`); False when no log has one yet."""
        for source in sorted(self.sources, key=lambda s: s != self.source):
            lines = self._lines[source]
            last = next((i for i in range(len(lines) - 1, -1, -1) if TRACEBACK in lines[i]), None)
            if last is not None:
                if source != self.source:
                    self.show_source(source)
                self.set_follow(False)
                self.log_view.scroll_to(y=last, animate=False)
                return True
        return False
