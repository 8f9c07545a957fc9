"""A short history of GPU (or, without a driver, host) readings for sparklines (`tui.text.spark`).
Textual-free."""

from __future__ import annotations

from collections import deque

from tui.system.gpus import Sample

HISTORY = 60


class GpuHistory:
    """The last `length` utilisation and memory percentages per GPU, and the host's CPU and RAM."""

    def __init__(self, length: int = HISTORY) -> None:
        self.length = length
        self.latest: Sample | None = None
        self.util: dict[int, deque[float]] = {}
        self.mem: dict[int, deque[float]] = {}
        self.cpu: deque[float] = deque(maxlen=length)
        self.ram: deque[float] = deque(maxlen=length)

    def add(self, sample: Sample) -> None:
        self.latest = sample
        for gpu in sample.gpus:
            self.util.setdefault(gpu.index, deque(maxlen=self.length)).append(gpu.util_percent or 0.0)
            self.mem.setdefault(gpu.index, deque(maxlen=self.length)).append(gpu.mem_percent)
        host = sample.host
        self.cpu.append(host.cpu_percent)
        self.ram.append(100.0 * host.mem_used / host.mem_total if host.mem_total else 0.0)
