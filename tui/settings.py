"""What the screens share: paths, the launcher, the clock and timings (injectable for tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui.launch.checks import CHECK_ENTRY
from tui.launch.local import Launcher
from tui.launch.slurm import SlurmLauncher, available
from tui.system.gpus import DEFAULT_INTERVAL_S, GpuSampler
from tui.table.row_cache import default_cache_dir


def slurm_if_available() -> SlurmLauncher | None:
    return SlurmLauncher() if available() else None


@dataclass
class Settings:
    save_dir: Path = Path("save")
    configs_dir: Path = Path("configs")
    launcher: Launcher = field(default_factory=Launcher)
    slurm: SlurmLauncher | None = field(default_factory=slurm_if_available)
    """The Slurm backend, offered by the launch dialog when `sbatch` is on the PATH."""
    sampler_factory: Callable[[], GpuSampler] = GpuSampler
    clock: Callable[[], float] = time.time
    refresh_s: float = 1.0
    gpu_interval_s: float = DEFAULT_INTERVAL_S
    stop_grace_s: float = 30.0
    check_entry: tuple[str, ...] = CHECK_ENTRY
    cache_dir: Path | None = field(default_factory=default_cache_dir)
    """Where settled rows are remembered between sessions (None: nowhere)."""
    live: bool = True
    """False freezes the screens after their first fill (deterministic snapshots)."""
