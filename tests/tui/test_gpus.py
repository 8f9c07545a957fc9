"""GPU sampling: NVML initialised once, handles cached, clean fallback without a driver."""

from __future__ import annotations

import pytest
from conftest import FakeNvml, NoDriverNvml

from tui.system.gpus import GpuSampler
from tui.text import gpu_label, host_label


def test_batched_sampling_with_cached_handles() -> None:
    nvml = FakeNvml(count=2)
    sampler = GpuSampler(nvml)
    first = sampler.sample()
    for _ in range(5):
        sample = sampler.sample()
    assert nvml.inits == 1 and nvml.handle_lookups == 2
    assert sample.no_gpu_reason is None and first.gpus == sample.gpus
    gpu = sample.gpus[1]
    assert (gpu.index, gpu.util_percent, gpu.mem_used) == (1, 50.0, 8 * 2**30)
    assert gpu_label(gpu) == "1: NVIDIA H100 80GB HBM3   50%  8.0/80.0 GiB"


def test_no_driver_falls_back_to_host() -> None:
    sample = GpuSampler(NoDriverNvml()).sample()
    assert sample.gpus == () and sample.no_gpu_reason == "no NVIDIA driver"
    assert sample.host.cpu_count >= 1 and sample.host.mem_total > 0
    assert host_label(sample.host).startswith("CPU ")


def test_real_pynvml() -> None:
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pytest.skip("no NVIDIA driver on this machine")
    pynvml.nvmlShutdown()
    sample = GpuSampler().sample()
    assert sample.no_gpu_reason is None and sample.gpus
    assert all(g.mem_total > 0 and g.util_percent is not None for g in sample.gpus)
