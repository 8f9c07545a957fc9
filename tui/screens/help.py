"""Every binding of the screen underneath, with its key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 60; height: auto; max-height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, title: str, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        lines = [f"{key:>12}  {description}" for key, description in self.bindings]
        with VerticalScroll() as scroll:
            scroll.border_title = f"Keys: {self.title_text}"
            yield Static("\n".join(lines) + "\n\nescape closes this help", markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
