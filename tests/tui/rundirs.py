"""Generate experiment directories with fixed contents (tests and bench/tui.py)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import psutil

T0 = 1_795_000_000.0  # a fixed instant, so tables and snapshots never depend on the clock


def write_events(path: Path, events: list[dict[str, Any]]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        for event in events:
            f.write(json.dumps({"v": 1, **event}) + "\n")


def start_event(name: str, t: float, *, pid: int = 999_999, create_time: float | None = None,
                max_epochs: int = 10, config: str = "configs/digits-classification.yaml",
                devices: Any = "cpu") -> dict[str, Any]:
    return {"time": t, "event": "start", "name": name, "config": config, "argv": [], "pid": pid,
            "create_time": create_time, "boot_time": psutil.boot_time() if create_time else None,
            "host": socket.gethostname(), "world_size": 1,
            "devices": devices, "max_epochs": max_epochs, "steps_per_epoch": 20, "resumed_from": None}


def epoch_events(first: int, last: int, t: float, dt: float = 10.0,
                 max_epochs: int = 10) -> list[dict[str, Any]]:
    events = []
    for epoch in range(first, last):
        t += dt
        acc = round(0.5 + 0.04 * epoch, 4)
        events.append({"time": t, "event": "epoch", "epoch": epoch, "step": 20 * (epoch + 1),
                       "metrics": {"train/loss": round(1.0 / (epoch + 1), 4), "val/loss": 0.5,
                                   "val/acc": acc},
                       "epoch_time_s": dt, "eta_s": dt * (max_epochs - epoch - 1)})
        events.append({"time": t, "event": "ckpt", "path": "ckpt/last.ckpt", "epoch": epoch,
                       "step": 20 * (epoch + 1), "monitor": "val/acc", "value": acc})
    return events


def make_run(save_dir: Path, name: str, status: str, *, t: float = T0, epochs: int = 3,
             max_epochs: int = 10, gpus: str = "cpu") -> Path:
    """A run directory whose events say `status` (finished, failed, stopped, lost or running)."""
    run_dir = save_dir / name
    run_dir.mkdir(parents=True)
    pid, create_time = 999_999, None
    if status == "running":
        pid, create_time = os.getpid(), psutil.Process().create_time()
    events = [start_event(name, t, pid=pid, create_time=create_time, max_epochs=max_epochs)]
    events += epoch_events(0, epochs, t, max_epochs=max_epochs)
    end_t = t + 10.0 * epochs + 1.0
    if status in ("finished", "stopped"):
        events.append({"time": end_t, "event": "end", "status": status, "elapsed_s": end_t - t,
                       "error": None})
    elif status == "failed":
        events.append({"time": end_t, "event": "end", "status": "failed", "elapsed_s": end_t - t,
                       "error": {"type": "RuntimeError", "message": "CUDA out of memory", "traceback": ""}})
    write_events(run_dir / "events.jsonl", events)
    (run_dir / "run.json").write_text(json.dumps({
        "argv": [], "pid": pid, "pgid": pid, "host": socket.gethostname(), "gpus": gpus,
        "launched_at": t - 2.0, "create_time": create_time, "backend": "local"}))
    return run_dir


def make_many(save_dir: Path, count: int) -> None:
    """`count` settled runs with distinct start times (bench)."""
    statuses = ("finished", "stopped", "failed")
    for i in range(count):
        make_run(save_dir, f"run-{i:05d}", statuses[i % 3], t=T0 + 60.0 * i, epochs=1 + i % 9)
