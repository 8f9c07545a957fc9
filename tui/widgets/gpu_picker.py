"""Pick the devices of a launch: NVIDIA GPUs with live utilisation and memory, or CPU with a DDP size."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from tui.system.gpus import Sample
from tui.text import gpu_label, host_label

MAX_CPU_PROCESSES = 64


class GpuPicker(Vertical):
    """Shows the GPU list once the first sample arrives; without a driver, the CPU choice instead."""

    DEFAULT_CSS = """
    GpuPicker { height: auto; }
    GpuPicker SelectionList { height: auto; max-height: 5; border: none; padding: 0; }
    GpuPicker #cpu-row { height: 1; }
    GpuPicker #cpu-row Label { width: auto; padding-right: 1; }
    GpuPicker #procs { width: 8; }
    GpuPicker .hidden { display: none; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.has_gpus: bool | None = None

    def compose(self) -> ComposeResult:
        yield Static("devices: sampling…", id="device-note", markup=False)
        yield SelectionList[int](id="gpu-list", classes="hidden")
        with Horizontal(id="cpu-row", classes="hidden"):
            yield Label("CPU processes (DDP):")
            yield Input("1", id="procs", compact=True, restrict=r"[0-9]*", max_length=2)

    def update_sample(self, sample: Sample) -> None:
        if self.has_gpus is None:
            self._choose_mode(sample)
        if self.has_gpus:
            gpu_list = self.query_one("#gpu-list", SelectionList)
            for i, reading in enumerate(sample.gpus[: gpu_list.option_count]):
                gpu_list.replace_option_prompt_at_index(i, gpu_label(reading))
        else:
            note = f"{sample.no_gpu_reason}: training on CPU\n{host_label(sample.host)}"
            self.query_one("#device-note", Static).update(note)

    def _choose_mode(self, sample: Sample) -> None:
        self.has_gpus = bool(sample.gpus)
        if self.has_gpus:
            gpu_list = self.query_one("#gpu-list", SelectionList)
            gpu_list.add_options([Selection(gpu_label(g), g.index, g.index == 0) for g in sample.gpus])
            gpu_list.remove_class("hidden")
            self.query_one("#device-note", Static).update("GPUs (space toggles; none selected = CPU):")
        else:
            self.query_one("#cpu-row").remove_class("hidden")

    def selection(self) -> tuple[tuple[int, ...], int, str | None]:
        """(GPU indices, CPU process count, problem)."""
        if self.has_gpus:
            gpus = tuple(sorted(self.query_one("#gpu-list", SelectionList).selected))
            if gpus:
                return gpus, 1, None
        text = self.query_one("#procs", Input).value.strip() or "1"
        procs = int(text) if text.isdigit() else 0
        if not 1 <= procs <= MAX_CPU_PROCESSES:
            return (), 1, f"CPU processes must be 1 to {MAX_CPU_PROCESSES}, got {text!r}"
        return (), procs, None
