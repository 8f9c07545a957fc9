"""A yes/no question: `y` confirms, `n` or `escape` cancels."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 64; height: auto; max-width: 100%; border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen #question { width: 100%; }
    ConfirmScreen #keys { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question", markup=False)
            yield Static("y: yes    n / escape: no", id="keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def on_yes(action: Callable[[], object]) -> Callable[[bool | None], None]:
    """The `push_screen` callback of a ConfirmScreen: run `action` when the answer is yes."""
    def answered(yes: bool | None) -> None:
        if yes:
            action()
    return answered
