"""GPU readings through NVML (`pynvml`), with a CPU/RAM fallback (psutil) when there is no NVIDIA driver.

`GpuSampler` calls `nvmlInit` once, caches the device handles and reads every device in one batch per
`sample()`; the app calls it from a worker, never from the UI thread. Torch- and Textual-free.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import psutil

MIN_INTERVAL_S = 0.25
DEFAULT_INTERVAL_S = 1.0


@dataclass(frozen=True)
class GpuReading:
    index: int
    name: str
    util_percent: float | None
    mem_used: int
    mem_total: int
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    processes: tuple[tuple[int, int | None], ...] = ()
    """(pid, GPU memory used in bytes or None) of each compute process on the device."""

    @property
    def mem_percent(self) -> float:
        return 100.0 * self.mem_used / self.mem_total if self.mem_total else 0.0


@dataclass(frozen=True)
class HostReading:
    """The fallback shown without NVIDIA GPUs."""

    cpu_percent: float
    cpu_count: int
    mem_used: int
    mem_total: int


@dataclass(frozen=True)
class Sample:
    gpus: tuple[GpuReading, ...]
    host: HostReading
    no_gpu_reason: str | None = None


class GpuSampler:
    """One NVML session; `nvml` may be a stand-in module with the same functions (tests)."""

    def __init__(self, nvml: ModuleType | Any | None = None) -> None:
        self._nvml = nvml
        self._handles: list[tuple[int, Any, str]] | None = None
        self.no_gpu_reason: str | None = None
        self.no_gpu_detail = ""
        psutil.cpu_percent(None)  # primes the counter: the first real reading covers one interval

    def _init(self) -> None:
        try:
            nvml = self._nvml or importlib.import_module("pynvml")
            nvml.nvmlInit()
            handles = []
            for i in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(i)
                handles.append((i, handle, _text(nvml.nvmlDeviceGetName(handle))))
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ImportError, ...
            self._handles = []
            self.no_gpu_reason = "no NVIDIA driver"
            self.no_gpu_detail = _first_line(exc)
            return
        self._nvml, self._handles = nvml, handles
        if not handles:
            self.no_gpu_reason = "no NVIDIA GPU found"

    def sample(self) -> Sample:
        if self._handles is None:
            self._init()
        return Sample(tuple(self._read_gpus()), read_host(), self.no_gpu_reason)

    def _read_gpus(self) -> list[GpuReading]:
        nvml: Any = self._nvml
        readings = []
        for index, handle, name in self._handles or []:
            util = _try(lambda h=handle: float(nvml.nvmlDeviceGetUtilizationRates(h).gpu))
            mem = _try(lambda h=handle: nvml.nvmlDeviceGetMemoryInfo(h))
            used, total = (int(mem.used), int(mem.total)) if mem is not None else (0, 0)
            temp = _try(lambda h=handle: float(nvml.nvmlDeviceGetTemperature(h, 0)))  # 0: the GPU die
            power = _try(lambda h=handle: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0)
            limit = _try(lambda h=handle: nvml.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0)
            procs = _try(lambda h=handle: _processes(nvml, h)) or ()
            readings.append(GpuReading(index, name, util, used, total, temp, power, limit, procs))
        return readings

    def close(self) -> None:
        nvml: Any = self._nvml
        if self._handles:
            try:
                nvml.nvmlShutdown()
            except Exception:
                pass
        self._handles = None


def read_host() -> HostReading:
    mem = psutil.virtual_memory()
    return HostReading(psutil.cpu_percent(None), psutil.cpu_count() or 1, mem.used, mem.total)


def _try(read: Any) -> Any:
    """One NVML query; None when the device or driver does not support it."""
    try:
        return read()
    except Exception:
        return None


def _processes(nvml: Any, handle: Any) -> tuple[tuple[int, int | None], ...]:
    used: dict[int, int | None] = {}
    for query in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        for proc in _try(lambda q=query: getattr(nvml, q)(handle)) or ():
            mem = getattr(proc, "usedGpuMemory", None)
            used[int(proc.pid)] = int(mem) if isinstance(mem, int) else None
    return tuple(sorted(used.items()))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
