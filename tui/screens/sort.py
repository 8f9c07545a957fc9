"""Pick the column the runs table is sorted by; picking the current one again reverses it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.table.query import Order
from tui.text import COLUMNS


class SortScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    SortScreen { align: center middle; }
    SortScreen > OptionList { width: 30; height: auto; max-height: 90%; border: thick $primary; }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, order: Order) -> None:
        super().__init__()
        self.order = order

    def compose(self) -> ComposeResult:
        options = []
        for column in COLUMNS:
            mark = ("  ▼ (reverse)" if self.order.descending else "  ▲ (reverse)") \
                if column == self.order.column else ""
            options.append(Option(f"{column}{mark}", id=column))
        picker = OptionList(*options)
        picker.border_title = "Sort by"
        picker.highlighted = COLUMNS.index(self.order.column)
        yield picker

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
