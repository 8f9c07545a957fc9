"""Every binding of the screen underneath, with its key."""

from __future__ import annotations

from itertools import zip_longest

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

ONE_COLUMN_ROWS = 14


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

    @classmethod
    def of(cls, screen: Screen[object]) -> HelpScreen:
        """The screen's own keys first, then the app's, then those of the focused widget."""
        def rank(active: ActiveBinding) -> int:
            return 0 if active.node is screen else 1 if active.node is screen.app else 2

        seen: set[tuple[str, str]] = set()
        rows = []
        for active in sorted(screen.active_bindings.values(), key=rank):
            binding = active.binding
            entry = (screen.app.get_key_display(binding), binding.description)
            if binding.description and entry not in seen:
                seen.add(entry)
                rows.append(entry)
        return cls(type(screen).__name__.removesuffix("Screen"), rows)

    def compose(self) -> ComposeResult:
        cells = [f"{key:>10}  {description:<24}" for key, description in self.bindings]
        half = -(-len(cells) // 2)
        two_columns = len(cells) > ONE_COLUMN_ROWS  # the runs screen's own keys then fit 80x24 at once
        lines = [left + right for left, right in zip_longest(cells[:half], cells[half:], fillvalue="")] \
            if two_columns else cells
        with VerticalScroll() as scroll:
            scroll.border_title = f"Keys: {self.title_text}"
            if two_columns:
                scroll.styles.width = 78
            yield Static("\n".join(line.rstrip() for line in lines) + "\n\nescape closes this help",
                         markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
