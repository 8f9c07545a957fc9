"""The Textual app: composes the screens and routes between them; the logic lives elsewhere."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import get_current_worker

from tui.messages import GpusSampled, GpusShared
from tui.screens.help import HelpScreen
from tui.screens.runs import RunsScreen
from tui.settings import Settings
from tui.system.gpu_history import GpuHistory
from tui.system.gpus import MIN_INTERVAL_S

if TYPE_CHECKING:
    from tui.system.gpus import GpuSampler
    from tui.table.rows import RunRow


class TorchxApp(App[None]):
    """`q` quits: runs are detached, so they keep training. `ctrl+q` quits too, but not over a dialog:
    Textual's quits from everywhere first, and the launch dialog's `ctrl+q` queues a run."""

    TITLE = "torchx"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.gpu_history = GpuHistory()
        self._gpu_screens: set[object] = set()
        self._stop_sampling = threading.Event()
        self._sampler: GpuSampler | None = None

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.settings))

    def want_gpus(self, screen: object = None) -> None:
        """Screens that show GPUs call this on mount; the app's one NVML sampler runs while one of them
        is there (`release_gpus` on its unmount)."""
        screen = screen if isinstance(screen, Screen) else self.screen
        if self.gpu_history.latest is not None:
            screen.post_message(GpusShared(self.gpu_history.latest, self.gpu_history))
        if not self._gpu_screens:
            self._stop_sampling = threading.Event()
            self.sample_gpus(self._stop_sampling)
        self._gpu_screens.add(screen)

    def release_gpus(self, screen: object) -> None:
        """The screen no longer shows GPUs: the sampler stops when no screen does."""
        self._gpu_screens.discard(screen)
        if not self._gpu_screens:
            self._stop_sampling.set()

    @work(thread=True, exclusive=True, group="app-gpus")
    def sample_gpus(self, stop: threading.Event) -> None:
        """Samples until no screen shows GPUs; the sampler (NVML, initialised once) is kept for the next
        screen that does, and closed when the app goes."""
        worker = get_current_worker()
        if self._sampler is None:
            self._sampler = self.settings.sampler_factory()
        sampler = self._sampler
        try:
            while not (worker.is_cancelled or stop.is_set()):
                self.post_message(GpusSampled(sampler.sample()))
                if not self.settings.live:
                    return
                stop.wait(max(MIN_INTERVAL_S, self.settings.gpu_interval_s))
        finally:
            if worker.is_cancelled:  # the app is exiting
                self._close_sampler()

    def _close_sampler(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.close()

    def on_unmount(self) -> None:
        self._stop_sampling.set()
        if not any(w.group == "app-gpus" and not w.is_finished for w in self.workers):
            self._close_sampler()

    @on(GpusSampled)
    def gpus_sampled(self, message: GpusSampled) -> None:
        self.gpu_history.add(message.sample)
        for screen in self.screen_stack:  # a dialog on top must not freeze the panel below it
            if screen in self._gpu_screens:
                screen.post_message(GpusShared(message.sample, self.gpu_history))

    # The GPU screen, the run view, diff, compare and the sweep view (plotext, readers) load on first use.
    def action_gpus(self) -> None:
        from tui.screens.gpus import GpusScreen

        if not isinstance(self.screen, GpusScreen):
            self.push_screen(GpusScreen())

    def open_run(self, name: str) -> None:
        from tui.screens.run_view import RunViewScreen

        self.push_screen(RunViewScreen(self.settings, name))

    def open_diff(self, a: RunRow, b: RunRow) -> None:
        from tui.screens.diff import DiffScreen

        self.push_screen(DiffScreen(self.settings, a, b))

    def open_compare(self, rows: list[RunRow]) -> None:
        from tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(self.settings, rows))

    def open_sweep(self, name: str) -> None:
        from tui.screens.sweep import SweepScreen

        self.push_screen(SweepScreen(self.settings, name))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen.of(self.screen))
