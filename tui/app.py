"""The Textual app: composes the screens and routes between them; the logic lives elsewhere."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from tui.screens.help import HelpScreen
from tui.screens.runs import RunsScreen
from tui.settings import Settings


class TorchxApp(App[None]):
    """`q` quits: runs are detached, so they keep training."""

    TITLE = "torchx"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.settings))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        bindings = [(self.get_key_display(active.binding), active.binding.description)
                    for active in self.screen.active_bindings.values() if active.binding.description]
        self.push_screen(HelpScreen(type(self.screen).__name__.removesuffix("Screen"), bindings))
