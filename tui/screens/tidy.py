"""The tidy dialog: a run's size on disk (checkpoints apart), and its delete or prune after the user types
the run's name. It only asks; the runs screen moves things to the trash (`tui.history.tidy`; a queued
run leaves the queue through `tui.queue.store.remove`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.history import tidy
from tui.messages import RunSized
from tui.run.status import DELETABLE, SETTLED
from tui.table.rows import RunRow
from tui.text import clip, size_text, status_text


@dataclass(frozen=True)
class TidyRequest:
    kind: str
    """"run" (delete it), "checkpoints" (prune them) or "empty" (empty the trash)."""
    trash: tuple[int, int] = (0, 0)
    """The trash's (entries, bytes) as the dialog measured them, for the question before emptying it."""


class TidyScreen(ModalScreen[TidyRequest | None]):
    AUTO_FOCUS = ""  # the keys below are the dialog's; the name field takes focus only when asked
    DEFAULT_CSS = """
    TidyScreen { align: center middle; }
    TidyScreen > Vertical {
        width: 76; height: auto; max-height: 100%; max-width: 100%; border: thick $warning;
        background: $surface; padding: 0 1;
    }
    TidyScreen #tidy-sizes { height: auto; max-height: 12; }
    TidyScreen #tidy-keys { color: $text-muted; margin-top: 1; }
    TidyScreen #tidy-confirm { display: none; margin-top: 1; }
    TidyScreen #tidy-confirm.-asking { display: block; }
    TidyScreen #tidy-status { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("x", "ask('run')", "Delete run"),
        Binding("p", "ask('checkpoints')", "Prune checkpoints"),
        Binding("t", "empty_trash", "Empty trash"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, row: RunRow, save_dir: Path) -> None:
        super().__init__()
        self.row = row
        self.save_dir = save_dir
        self.run_size: tidy.RunSize | None = None
        self.trash: tuple[int, int] | None = None
        self._asking: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Tidy: {self.row.name}"
            yield Static(f"{status_text(self.row)} · measuring…", id="tidy-sizes", markup=False)
            yield Static("x delete the run   p prune checkpoints   t empty the trash   esc close",
                         id="tidy-keys")
            yield Input(id="tidy-confirm", compact=True)
            yield Static("", id="tidy-status", markup=False)

    def on_mount(self) -> None:
        self.measure()

    @work(thread=True, exclusive=True, group="tidy-size")
    def measure(self) -> None:
        size = tidy.run_size(self.save_dir / self.row.name)
        self.post_message(RunSized(self.row.name, size, tidy.trash_size(self.save_dir)))

    @on(RunSized)
    def sized(self, message: RunSized) -> None:
        self.run_size, self.trash = message.size, message.trash
        size, (entries, trash_bytes) = message.size, message.trash
        lines = [f"{status_text(self.row)} · {size_text(size.total)} on disk · checkpoints "
                 f"{size_text(size.ckpt)} in {len(size.files)} file(s)"]
        for f in size.files:
            keep = f"kept ({f.keep})" if f.keep else "prunable"
            lines.append(f"  {clip(f.name, 44, middle=True):<44} {size_text(f.size):>9}  {keep}")
        lines.append(f"trash: {entries} entr{'y' if entries == 1 else 'ies'}, {size_text(trash_bytes)}")
        self.query_one("#tidy-sizes", Static).update("\n".join(lines))

    def action_ask(self, kind: str) -> None:
        """Ask for the run's name before a delete or prune; a running run is refused here already (a
        queued one may be deleted: it leaves the queue; it has no checkpoints to prune)."""
        status = self.query_one("#tidy-status", Static)
        if self.row.status not in (DELETABLE if kind == "run" else SETTLED):
            verb = "delete" if kind == "run" else "prune"
            status.update(f"✘ cannot {verb} '{self.row.name}': it is {self.row.status}")
            return
        if kind == "checkpoints" and self.run_size is not None and not self.run_size.prunable:
            status.update("✘ nothing to prune: only last.ckpt, the best and unknown files are here")
            return
        self._asking = kind
        what = "delete the run" if kind == "run" else "prune its checkpoints"
        self.query_one("#tidy-keys", Static).update(
            f"type {self.row.name} and enter to {what} (it moves to .trash; u undoes)   esc cancel")
        confirm = self.query_one("#tidy-confirm", Input)
        confirm.value = ""
        confirm.add_class("-asking")
        status.update("")
        confirm.focus()

    @on(Input.Submitted, "#tidy-confirm")
    def confirmed(self, event: Input.Submitted) -> None:
        if event.value.strip() != self.row.name:
            self.query_one("#tidy-status", Static).update(
                f"✘ typed '{event.value.strip()}', not '{self.row.name}': nothing deleted")
            return
        self.dismiss(TidyRequest(self._asking or "run"))

    def action_empty_trash(self) -> None:
        if self.trash is None:
            self.query_one("#tidy-status", Static).update("✘ still measuring the trash: press t again")
            return
        self.dismiss(TidyRequest("empty", self.trash))

    def action_close(self) -> None:
        self.workers.cancel_node(self)
        self.dismiss(None)
