"""The app with everything that varies pinned: fixed run directories, clock, devices and validation.

Build it inside a temporary working directory (paths shown on screen are relative) with TZ=UTC.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from rundirs import T0, make_run

from tui.app import TorchxApp
from tui.settings import Settings
from tui.system.gpus import GpuReading, HostReading, Sample

HOST = HostReading(cpu_percent=12.0, cpu_count=16, mem_used=3 * 2**30, mem_total=64 * 2**30)
H100 = "NVIDIA H100 80GB HBM3"
GPUS = (GpuReading(0, H100, 97.0, 61 * 2**30, 80 * 2**30), GpuReading(1, H100, 0.0, 1 * 2**30, 80 * 2**30))
NOW = T0 + 1000.0


class FixedSampler:
    def __init__(self, gpus: bool) -> None:
        self.result = Sample(GPUS, HOST) if gpus else Sample((), HOST, "no NVIDIA driver")

    def sample(self) -> Sample:
        return self.result

    def close(self) -> None:
        pass


def build(workdir: Path, gpus: bool = True) -> TorchxApp:
    """Runs of every status in `workdir/save`, one config in `workdir/configs`."""
    save, configs = workdir / "save", workdir / "configs"
    configs.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "small.yaml", configs / "small.yaml")
    statuses = ("finished", "failed", "stopped", "lost", "running")
    for i, status in enumerate(statuses):
        make_run(save, f"digits-{status}", status, t=T0 + 100.0 * i, epochs=2 + i,
                 gpus="0,1" if i % 2 else "cpu")
    (save / "notes").mkdir()
    (save / "broken").mkdir()
    (save / "broken" / "events.jsonl").write_text("{not json\n")
    ok = (sys.executable, "-c", "import sys; sys.exit(0)")
    settings = Settings(save_dir=Path("save"), configs_dir=Path("configs"), clock=lambda: NOW,
                        sampler_factory=lambda: FixedSampler(gpus), check_entry=ok, live=False,
                        cache_dir=None, slurm=None)
    return TorchxApp(settings)
