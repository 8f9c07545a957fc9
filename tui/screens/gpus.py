"""Every GPU on the machine and who is on it (which run, or which foreign process), nvitop-style.

Readings come from the app's one sampler (`GpusShared`); finding the owner of each GPU process reads
the process table, so it runs in this screen's worker. Without a driver: CPU and RAM instead.
"""

from __future__ import annotations

import threading

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from tui.messages import GpuOwnersFound, GpusShared
from tui.run import processes
from tui.system.gpus import Sample
from tui.text import gpu_line, host_lines


class GpusScreen(Screen[None]):
    DEFAULT_CSS = """
    GpusScreen #gpu-summary { height: auto; padding: 0 1; background: $boost; }
    GpusScreen #gpu-procs { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self._pending: Sample | None = None
        self._have_sample = threading.Event()
        self._lock = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Static("reading GPUs…", id="gpu-summary", markup=False)
        yield DataTable(id="gpu-procs", cursor_type="row", zebra_stripes=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("GPU", "pid", "user", "GPU mem", "run / process")
        want_gpus = getattr(self.app, "want_gpus", None)
        if want_gpus is not None:
            want_gpus(self)
        self.find_owners()

    def on_unmount(self) -> None:
        self._have_sample.set()
        release_gpus = getattr(self.app, "release_gpus", None)
        if release_gpus is not None:
            release_gpus(self)

    @on(GpusShared)
    def gpus_shared(self, message: GpusShared) -> None:
        sample, history = message.sample, message.history
        if sample.gpus:
            lines = [f"{len(sample.gpus)} GPU(s)"]
            lines += [f"{gpu_line(g, history, 16)}  {g.name}" for g in sample.gpus]
        else:
            lines = host_lines(history, sample.no_gpu_reason or "no GPU", 16)
        self.query_one("#gpu-summary", Static).update("\n".join(lines))
        with self._lock:
            self._pending = sample
        self._have_sample.set()

    @work(thread=True, exclusive=True, group="gpu-owners")
    def find_owners(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            self._have_sample.wait()
            self._have_sample.clear()
            with self._lock:
                sample, self._pending = self._pending, None
            if sample is None:
                continue
            rows: list[tuple[str, ...]] = []
            for gpu in sample.gpus:
                for pid, mem in gpu.processes:
                    run = processes.run_name_of(pid)
                    user, name = processes.describe(pid)
                    owner = f"run {run}" if run else f"{name} (not a torchx run)"
                    if run is None and name == "?":
                        owner = "(process not visible here: another container?)"
                    rows.append((str(gpu.index), str(pid), user,
                                 "" if mem is None else f"{mem / 2**20:,.0f} MiB", owner))
            self.post_message(GpuOwnersFound(rows))
            settings = getattr(self.app, "settings", None)
            if settings is not None and not settings.live:
                return

    @on(GpuOwnersFound)
    def owners_found(self, message: GpuOwnersFound) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in message.rows:
            table.add_row(*row)
