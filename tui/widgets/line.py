"""A text widget that repaints only itself, and only when its text changed.

`Static.update` asks for a new layout of the screen each time; a header that changes every second
would re-lay out the whole view that often. A new layout is asked for only when the number of
lines changed.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget


class Line(Widget):
    DEFAULT_CSS = "Line { height: auto; width: 1fr; }"

    def __init__(self, text: str | Text = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._text: str | Text = text

    @property
    def text(self) -> str:
        return self._text.plain if isinstance(self._text, Text) else self._text

    def set(self, text: str | Text) -> None:
        if text != self._text:
            relayout = _lines(text) != _lines(self._text)
            self._text = text
            self.refresh(layout=relayout)

    def render(self) -> RenderResult:
        return self._text if isinstance(self._text, Text) else Text(self._text)


def _lines(text: str | Text) -> int:
    plain = text.plain if isinstance(text, Text) else text
    return plain.count("\n") + 1
