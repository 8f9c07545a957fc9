"""Edit a run's note and tags (`meta.yaml`): `enter` saves, `escape` cancels."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tui.run.files import Meta, parse_tags


class NotesScreen(ModalScreen[Meta | None]):
    DEFAULT_CSS = """
    NotesScreen { align: center middle; }
    NotesScreen > Vertical {
        width: 72; height: auto; max-width: 100%; border: thick $primary; background: $surface; padding: 0 1;
    }
    NotesScreen Horizontal { height: 1; margin-top: 1; }
    NotesScreen .label { width: 6; }
    NotesScreen #notes-status { color: $error; height: auto; }
    NotesScreen #notes-keys { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, name: str, meta: Meta) -> None:
        super().__init__()
        self.run_name = name
        self.meta = meta

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Note and tags: {self.run_name}"
            with Horizontal():
                yield Label("note", classes="label")
                yield Input(self.meta.note, id="note", compact=True, placeholder="what this run tried")
            with Horizontal():
                yield Label("tags", classes="label")
                yield Input(" ".join(self.meta.tags), id="tags", compact=True,
                            placeholder="baseline lr-sweep")
            yield Static("", id="notes-status", markup=False)
            yield Static("enter: save    tab: next field    escape: cancel", id="notes-keys")

    @on(Input.Submitted)
    def save(self) -> None:
        tags, problem = parse_tags(self.query_one("#tags", Input).value)
        if problem:
            self.query_one("#notes-status", Static).update(f"✘ {problem}")
            return
        self.dismiss(Meta(self.query_one("#note", Input).value.strip(), tags))

    def action_cancel(self) -> None:
        self.dismiss(None)
