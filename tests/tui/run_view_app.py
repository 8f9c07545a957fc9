"""A fixed run directory (events, logs, config, checkpoints, git card) for the run view's snapshots:
a run training on another host (so its status needs no local process), 6 of 10 epochs done."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from rundirs import T0, start_event, write_events
from snapshot_app import HOST, FixedSampler

from tui.app import TorchxApp
from tui.settings import Settings
from tui.system.gpus import GpuReading, Sample

NAME = "digits-fixed"
CONFIG = """seed: 42
data_module:
  name: digits
  args: {batch_size: 64}
trainer_params:
  max_epochs: 10
checkpoint:
  monitor: val/acc
  mode: max
"""


def events() -> list[dict[str, object]]:
    argv = ["python", "-m", "torchx.train_pl", "--config", "configs/digits.yaml", "--name", NAME]
    out = [start_event(NAME, T0, max_epochs=10, devices=[0, 1]) | {"argv": argv, "host": "gpu-box"}]
    t = T0
    for step in range(1, 121):
        t += 0.5
        loss = 2.3 * math.exp(-step / 30) + 0.05 * math.sin(step)
        out.append({"time": t, "event": "step", "epoch": (step - 1) // 20, "step": step,
                    "metrics": {"train/loss": round(loss, 4)}, "samples_per_s": 900.0,
                    "eta_s": 100 - (t - T0)})
        if step % 20 == 0:
            epoch = step // 20 - 1
            acc = round(0.7 + 0.05 * epoch - (0.04 if epoch == 4 else 0.0), 4)
            out.append({"time": t, "event": "epoch", "epoch": epoch, "step": step,
                        "metrics": {"train/loss": round(loss + 0.1, 4), "val/loss": round(loss * 1.2, 4),
                                    "val/acc": acc}, "epoch_time_s": 10.0, "eta_s": 100 - (t - T0)})
            out.append({"time": t, "event": "ckpt", "path": "ckpt/last.ckpt", "epoch": epoch, "step": step,
                        "monitor": "val/acc", "value": acc})
    return out


def make_fixed_run(save: Path) -> Path:
    run = save / NAME
    (run / "ckpt").mkdir(parents=True)
    (run / "src").mkdir()
    write_events(run / "events.jsonl", events())
    (run / "config.yaml").write_text(CONFIG)
    (run / "log.txt").write_text("".join(f"[2026-11-20 10:00:{i:02d}] epoch {i + 1}/6 train/loss=0.{9 - i}\n"
                                         for i in range(6)))
    (run / "src" / "git.json").write_text(json.dumps({"commit": "0123456789abcdef", "dirty": False}))
    for name, size, t in (("last.ckpt", 620_376, T0 + 60), ("best-epoch=3-step=80.ckpt", 620_376, T0 + 40)):
        (run / "ckpt" / name).write_bytes(b"\0" * size)
        os.utime(run / "ckpt" / name, (t, t))
    return run


def build(workdir: Path) -> TorchxApp:
    make_fixed_run(workdir / "save")
    settings = Settings(save_dir=Path("save"), configs_dir=Path("configs"), clock=lambda: T0 + 70.0,
                        sampler_factory=lambda: FixedSampler(True), live=False, cache_dir=None)
    return TorchxApp(settings)


class GpuBoxSampler:
    """Two busy GPUs with temperature, power and processes whose pids do not exist here."""

    def sample(self) -> Sample:
        rows = ((0, 97.0, 61, 71.0, 612.0), (1, 35.0, 12, 48.0, 180.0))
        gpus = tuple(GpuReading(i, "NVIDIA H100 80GB HBM3", util, used * 2**30, 80 * 2**30, temp, power,
                                700.0, ((4_000_000 + i, used * 2**30),))
                     for i, util, used, temp, power in rows)
        return Sample(gpus, HOST)

    def close(self) -> None:
        pass


def build_gpus(workdir: Path) -> TorchxApp:
    (workdir / "save").mkdir()
    settings = Settings(save_dir=Path("save"), configs_dir=Path("configs"), clock=lambda: T0,
                        sampler_factory=GpuBoxSampler, live=False, cache_dir=None)
    return TorchxApp(settings)
