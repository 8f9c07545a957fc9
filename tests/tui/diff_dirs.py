"""Run directories to diff and compare (tests and bench/tui.py): the same experiment twice with three
nested config keys apart (one changed, one added, one removed) and one source file edited."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import yaml
from rundirs import T0, make_run, start_event, write_events

CONFIG: dict[str, Any] = {
    "seed": 42,
    "data_module": {"name": "digits", "args": {"batch_size": 64}},
    "train_wrapper": {"name": "base", "args": {
        "model_spec": {"name": "mlp", "args": {"in_dim": 64, "out_dim": 10, "hidden": [256, 128]}},
        "loss_spec": {"name": "cross_entropy"},
        "optim_spec": {"name": "AdamW", "args": {"lr": 0.002}},
        "sched_spec": {"name": "CosineAnnealingLR", "args": {"T_max": 30}},
    }},
    "trainer_params": {"max_epochs": 30, "log_every_n_steps": 5, "gradient_clip_val": 1.0},
    "checkpoint": {"monitor": "val/acc", "mode": "max", "save_top_k": 1},
    "callbacks": [{"name": "lr_monitor", "args": {}}],
}
DIFFERING = ("train_wrapper.args.optim_spec.args.lr", "train_wrapper.args.sched_spec.args.eta_min",
             "trainer_params.gradient_clip_val")
MLP = "import torch\n\n\nclass MLP:\n    width = 256\n    depth = 2\n"


def changed_config() -> dict[str, Any]:
    """`CONFIG` with `DIFFERING` applied: lr changed, eta_min added, gradient_clip_val removed."""
    config = copy.deepcopy(CONFIG)
    config["train_wrapper"]["args"]["optim_spec"]["args"]["lr"] = 0.001
    config["train_wrapper"]["args"]["sched_spec"]["args"]["eta_min"] = 1e-5
    del config["trainer_params"]["gradient_clip_val"]
    return config


def write_src(run_dir: Path, mlp: str, extra: dict[str, str], commit: str, dirty: bool) -> None:
    src = run_dir / "src"
    for rel, text in {"torchx/models/mlp.py": mlp, "torchx/registry.py": "REGISTRY = {}\n",
                      "configs/digits.yaml": "seed: 42\n", **extra}.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    status = " M torchx/models/mlp.py\n" if dirty else ""
    (src / "git.json").write_text(json.dumps({"commit": commit, "dirty": dirty, "status": status}))
    (src / "git.diff").write_text("--- a/torchx/models/mlp.py\n+++ b/torchx/models/mlp.py\n" if dirty else "")


def make_pair(save_dir: Path, a: str = "base-run", b: str = "lr-run") -> tuple[Path, Path]:
    """Run A (older, `CONFIG`) and run B (`changed_config()`, mlp.py edited, a new file, dirty tree)."""
    a_dir = make_run(save_dir, a, "finished", t=T0, epochs=3)
    b_dir = make_run(save_dir, b, "finished", t=T0 + 600.0, epochs=4)
    (a_dir / "config.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    (b_dir / "config.yaml").write_text(yaml.safe_dump(changed_config(), sort_keys=False))
    write_src(a_dir, MLP, {}, "1111111aaaaaaa", dirty=False)
    write_src(b_dir, MLP.replace("depth = 2", "depth = 3"), {"torchx/models/wide.py": "WIDE = 1\n"},
              "2222222bbbbbbb", dirty=True)
    return a_dir, b_dir


def make_curve_run(save_dir: Path, name: str, t: float, rate: float, epochs: int = 5,
                   steps_per_epoch: int = 20) -> Path:
    """A finished run with per-step train/loss and per-epoch val/acc that rises at `rate`:
    its final val/acc is `acc_at(rate, epochs - 1)`, its best the same (monotone)."""
    run_dir = save_dir / name
    run_dir.mkdir(parents=True)
    events: list[dict[str, Any]] = [start_event(name, t, max_epochs=epochs)]
    events[0]["steps_per_epoch"] = steps_per_epoch
    now = t
    for epoch in range(epochs):
        for k in range(1, steps_per_epoch + 1):
            now += 0.5
            step = epoch * steps_per_epoch + k
            events.append({"time": now, "event": "step", "epoch": epoch, "step": step,
                           "metrics": {"train/loss": round(2.0 * math.exp(-rate * step / 20), 5)}})
        events.append({"time": now, "event": "epoch", "epoch": epoch, "step": step,
                       "metrics": {"val/acc": acc_at(rate, epoch), "val/loss": round(1 / (1 + epoch), 4)}})
    events.append({"time": now + 1, "event": "end", "status": "finished", "elapsed_s": now + 1 - t,
                   "error": None})
    write_events(run_dir / "events.jsonl", events)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    return run_dir


def acc_at(rate: float, epoch: int) -> float:
    return round(1 - 0.5 * math.exp(-rate * (epoch + 1)), 4)
