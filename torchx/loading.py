"""Load a trained run for inference in one call: its config and its model with the best or last weights.

No data module is built and nothing is written. Works for runs of both entries (Lightning checkpoints
and the plain entry's own format).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from torchx import wrappers
from torchx.config import load_config
from torchx.errors import UserError
from torchx.events import read_events
from torchx.experiment import CKPT_DIR, CONFIG_FILE, EVENTS_FILE, LAST_CKPT
from torchx.formats import PLAIN_CKPT_FORMAT


@dataclass
class LoadedRun:
    run_dir: Path
    config: dict[str, Any]
    model: pl.LightningModule  # the run's training wrapper in eval mode: calling it is inference
    ckpt_path: Path


def load_run(run: str | Path, ckpt: str = "best", device: str | torch.device = "cpu") -> LoadedRun:
    """`ckpt` is "best" (the best monitored checkpoint), "last", or a path (relative to the run)."""
    run_dir = Path(run)
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir}: not a run directory ({CONFIG_FILE} not found)")
    config = load_config(run_dir / CONFIG_FILE)
    path = find_checkpoint(run_dir, ckpt, (config.get("checkpoint") or {}).get("mode", "min"))
    model = wrappers.make(config["train_wrapper"])
    state = torch.load(path, map_location=device, weights_only=False)
    if state.get("format") == PLAIN_CKPT_FORMAT:  # the plain entry saves the wrapper's inner model only
        model.model.load_state_dict(state["model"])
    else:
        model.load_state_dict(state["state_dict"])
    return LoadedRun(run_dir, config, model.to(device).eval(), path)


def find_checkpoint(run_dir: Path, which: str, mode: str = "min") -> Path:
    """The checkpoint file `which` names; "best" is read from the run's `ckpt` events."""
    if which == "last":
        path = run_dir / CKPT_DIR / LAST_CKPT
    elif which == "best":
        path = _best_checkpoint(run_dir, mode)
    else:
        path = Path(which) if Path(which).is_absolute() else run_dir / which
    if not path.is_file():
        raise UserError(f"{run_dir}: checkpoint {path} not found")
    return path


def _best_checkpoint(run_dir: Path, mode: str) -> Path:
    events, _ = read_events(run_dir / EVENTS_FILE)
    scored = [(e["value"], i, run_dir / e["path"]) for i, e in enumerate(events)
              if e.get("event") == "ckpt" and isinstance(e.get("value"), (int, float))
              and Path(e["path"]).name != LAST_CKPT and (run_dir / e["path"]).is_file()]
    if not scored:
        raise UserError(f"{run_dir}: no best checkpoint (the config sets no checkpoint.monitor, or none was "
                        "saved yet); use the last one instead")
    # The best value; among equals, the latest save (it is the file the checkpointer kept).
    best = max(scored, key=lambda s: (s[0] if mode == "max" else -s[0], s[1]))
    return best[2]
