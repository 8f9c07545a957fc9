"""A log view that highlights a search term and tracebacks, and can jump between matches."""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.highlighter import Highlighter
from rich.text import Text
from textual.widgets import Log

from tui.live.logtail import find

_ERROR = re.compile(r"Traceback \(most recent call last\):|\b\w*(Error|Exception)\b.*")


class SearchHighlighter(Highlighter):
    def __init__(self) -> None:
        self.query = ""

    def highlight(self, text: Text) -> None:
        text.highlight_regex(_ERROR, "bold red")
        if self.query:
            text.highlight_words([self.query], "black on yellow", case_sensitive=False)


class SearchLog(Log):
    """`Log` with `search(query)` / `next_match()`; the match is kept in view, highlighted."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(highlight=True, **kwargs)  # type: ignore[arg-type]
        self.highlighter = self._search = SearchHighlighter()
        self.match: int | None = None

    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        """The widest new line, measured here: Textual's `Log` starts a thread worker per write to do
        it, whose answer lays the screen out (and repaints the log) once more, a frame later."""
        if lines:
            self._update_maximum_width(updates, max(cell_len(self._process_line(line)) for line in lines))

    @property
    def search_query(self) -> str:
        return self._search.query

    def search(self, query: str) -> int | None:
        self._search.query = query
        self.notify_style_update()
        self.refresh()
        self.match = None
        return self.next_match(start=self.scroll_offset.y - 1)

    def next_match(self, backwards: bool = False, start: int | None = None) -> int | None:
        origin = start if start is not None else self.match
        if origin is None:
            origin = self.scroll_offset.y
        found = find(list(self.lines), self.search_query, origin, backwards)
        if found is not None:
            self.match = found
            self.scroll_to(y=max(0, found - self.size.height // 2), animate=False)
        return found

    def count_matches(self) -> int:
        needle = self.search_query.lower()
        return sum(needle in line.lower() for line in self.lines) if needle else 0
