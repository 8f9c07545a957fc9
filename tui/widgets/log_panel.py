"""The run's logs: `log.txt` or `stdout.log`, following new lines, searchable, with a status line."""

from __future__ import annotations

import time
from collections import deque

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input

from tui.live.logtail import MAX_LINES
from tui.widgets.line import Line
from tui.widgets.search_log import SearchLog

TRACEBACK = "Traceback (most recent call last)"
ERROR_PREFIX = "error:"
"""How an entry's one-line refusal of bad input starts (`torchx.session.run_main`)."""
FLUSH_S = 2.0
"""New lines reach the view at most this often: each write scrolls, rewriting every line shown (about
2 KB at 80×24); the header's numbers still tick every second."""
CELLS_PER_S = 1000
"""A bigger view waits longer between writes, `area / CELLS_PER_S` seconds, so that following a busy
log costs about the same terminal traffic at any size."""


class LogPanel(Vertical):
    """Keeps the recent lines of every source, shows one; `follow` keeps the newest line in view."""

    DEFAULT_CSS = """
    LogPanel #log-status { background: $boost; padding: 0 1; }
    LogPanel #log-view { height: 1fr; overflow-x: auto; }
    LogPanel.-following #log-view { scrollbar-size-vertical: 0; }
    LogPanel #search { dock: bottom; display: none; }
    """

    def __init__(self, sources: tuple[str, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sources, self.source, self.follow = sources, sources[0], True
        self._lines: dict[str, deque[str]] = {s: deque(maxlen=MAX_LINES) for s in sources}
        self._pending: list[str] = []
        self._flushed_at = -FLUSH_S
        self._flush_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Line(id="log-status")
        yield SearchLog(id="log-view", max_lines=MAX_LINES)
        yield Input(id="search", placeholder="search the log (enter; n/N next/previous)", compact=True)

    def on_mount(self) -> None:
        self.set_class(self.follow, "-following")
        self._update_status()

    @property
    def log_view(self) -> SearchLog:
        return self.query_one(SearchLog)

    @property
    def searching(self) -> bool:
        return bool(self.query_one("#search", Input).display)

    def add_lines(self, source: str, lines: list[str]) -> None:
        """Lines of the shown source reach the view at once if none did for a while (`FLUSH_S`, longer
        in a big view), else together at the end of it; while the panel is hidden (another tab) they
        wait for `flush`: a write grows the log's virtual size, which lays the whole screen out again."""
        self._lines[source].extend(lines)
        if source != self.source:
            return
        self._pending.extend(lines)
        if not self.is_on_screen:
            return
        wait = max(FLUSH_S, self.log_view.size.area / CELLS_PER_S) - (time.monotonic() - self._flushed_at)
        if wait <= 0:
            self.flush()
        elif self._flush_timer is None:
            self._flush_timer = self.set_timer(wait, self.flush)

    def flush(self) -> None:
        """Write the lines held back (`add_lines`) now."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self._flushed_at = time.monotonic()
        pending, self._pending = self._pending, []
        if len(pending) >= MAX_LINES:
            self.show_source(self.source)
        elif pending:
            with self.app.batch_update():  # the new lines, the scroll and the status in one frame
                self.log_view.write_lines(pending, scroll_end=self.follow)
                self._update_status()

    def _update_status(self) -> None:
        others = [s for s in self.sources if s != self.source]
        parts = [f"{self.source} ({len(self._lines[self.source])} lines)",
                 "following" if self.follow else "paused (f follows)", f"l: {', '.join(others)}"]
        if self.log_view.search_query:
            parts.append(f"/{self.log_view.search_query}: {self.log_view.count_matches()} matching lines")
        self.query_one("#log-status", Line).set("  ·  ".join(parts))

    def set_follow(self, follow: bool) -> None:
        """Lines held back are written first, scrolled to only when following from now on."""
        self.follow = self.log_view.auto_scroll = follow
        self.set_class(follow, "-following")  # no scrollbar at the end: each new line would repaint it
        self.flush()
        if follow:
            self.log_view.scroll_end(animate=False)
        self._update_status()

    def next_source(self) -> None:
        self.show_source(self.sources[(self.sources.index(self.source) + 1) % len(self.sources)])

    def show_source(self, source: str) -> None:
        self.source, self._pending = source, []
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

    def jump_to_error(self) -> bool:
        """Show the last traceback, from the shown log or else another one (a run that crashed before
        writing `log.txt` has it only in `stdout.log`), else the last `error:` line an entry wrote when
        it refused to start; False when no log has either yet."""
        for is_error in (lambda line: TRACEBACK in line, lambda line: line.startswith(ERROR_PREFIX)):
            for source in sorted(self.sources, key=lambda s: s != self.source):
                lines = self._lines[source]
                last = next((i for i in range(len(lines) - 1, -1, -1) if is_error(lines[i])), None)
                if last is not None:
                    if source != self.source:
                        self.show_source(source)
                    self.set_follow(False)
                    self.log_view.scroll_to(y=last, animate=False)
                    return True
        return False
