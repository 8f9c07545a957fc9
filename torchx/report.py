"""What an entry tells the person at its terminal: a line at the start, one per epoch, one at the end.

The end line is folded from the run's own `events.jsonl` (`summary.RunSummary` plus the `ckpt` and `end`
events of the latest start), so both entries report alike and say only what the run's story says — what
the TUI and log.txt show too. Torch-free; callers print on global rank 0 only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torchx.events import EventReader
from torchx.experiment import CKPT_DIR, EVENTS_FILE, LAST_CKPT
from torchx.recorder import fmt_duration, fmt_metrics
from torchx.summary import RunSummary

PREFIX = "torchx:"
SEP = " · "


def start_line(name: str, run_dir: Path, entry: str, resumed_from: Path | None) -> str:
    """`torchx: run 'NAME' in save/NAME (train_pl, resumed from save/NAME/ckpt/last.ckpt)`."""
    how = f", resumed from {resumed_from}" if resumed_from is not None else ""
    return f"{PREFIX} run '{name}' in {run_dir} ({entry}{how})"


def epoch_line(epoch: int, max_epochs: int, metrics: dict[str, float], epoch_time_s: float,
               elapsed_s: float) -> str:
    """`torchx: epoch 3/30 train/loss=0.21 val/acc=0.96 val/loss=0.12 · 0.4s · elapsed 0:00:02` (epoch
    0-based, as in the events; shown from 1, as in log.txt)."""
    return (f"{PREFIX} epoch {epoch + 1}/{max_epochs} {fmt_metrics(metrics)}{SEP}{epoch_time_s:.3g}s"
            f"{SEP}elapsed {fmt_duration(elapsed_s)}")


@dataclass
class Best:
    """The best value of the monitored metric among the run's checkpoints, and the checkpoint holding it."""

    monitor: str
    value: float
    epoch: int
    path: str  # relative to the run directory, as in the `ckpt` event


@dataclass
class RunOutcome:
    """The run's events folded for its end line: `summary` for the run, the rest for its latest start."""

    monitor: str | None
    mode_max: bool
    summary: RunSummary = field(default_factory=RunSummary)
    elapsed_s: float | None = None
    reason: str | None = None
    best: Best | None = None

    def apply(self, event: dict[str, Any]) -> None:
        self.summary.apply(event)
        kind = event.get("event")
        if kind == "start":
            self.elapsed_s, self.reason = None, None
        elif kind == "end":
            self.elapsed_s = _number(event.get("elapsed_s"))
            self.reason = event.get("reason") if isinstance(event.get("reason"), str) else None
        elif kind == "ckpt":
            self._on_ckpt(event)

    def _on_ckpt(self, event: dict[str, Any]) -> None:
        """A checkpoint that beats the best so far; a tie keeps the first (the plain entry reports
        best.ckpt, then last.ckpt with the same value)."""
        value, epoch, path = _number(event.get("value")), event.get("epoch"), event.get("path")
        if (self.monitor is None or event.get("monitor") != self.monitor or value is None
                or not math.isfinite(value) or type(epoch) is not int or not isinstance(path, str)):
            return
        if self.best is None or (value > self.best.value if self.mode_max else value < self.best.value):
            self.best = Best(self.monitor, value, epoch, path)


def fold_outcome(run_dir: Path, monitor: str | None, mode_max: bool) -> RunOutcome:
    """Fold `run_dir/events.jsonl` (step events skipped in bulk: a long log costs a scan)."""
    outcome = RunOutcome(monitor, mode_max)
    for event in EventReader(run_dir / EVENTS_FILE, last_step_only=True).iter_new():
        outcome.apply(event)
    return outcome


def end_line(run_dir: Path, checkpoint: dict[str, Any]) -> str:
    """`torchx: finished 'NAME' in 0:01:12, 30/30 epochs · best val/acc 0.9712 (epoch 4,
    ckpt/best-epoch=3.ckpt) · save/NAME/ckpt/last.ckpt`, from the config's `checkpoint` section
    (`monitor`, `mode`: Lightning's default is min) and the run's events."""
    outcome = fold_outcome(run_dir, checkpoint.get("monitor"), checkpoint.get("mode", "min") == "max")
    summary = outcome.summary
    status = summary.end_status or "ended"
    reason = f" ({outcome.reason})" if outcome.reason else ""
    epochs = f", {summary.epochs_done}/{summary.max_epochs} epochs" if summary.max_epochs else ""
    parts = [f"{PREFIX} {status} '{summary.name or run_dir.name}'{reason} in "
             f"{fmt_duration(outcome.elapsed_s)}{epochs}"]
    if summary.error:
        message = str(summary.error.get("message") or "").strip().splitlines()
        parts.append(f"{summary.error.get('type')}: {message[0][:200] if message else ''}".rstrip(": "))
    best = outcome.best
    if best is not None:
        kept = f", {best.path}" if (run_dir / best.path).is_file() else ""
        parts.append(f"best {best.monitor} {best.value:.4g} (epoch {best.epoch + 1}{kept})")
    last = run_dir / CKPT_DIR / LAST_CKPT
    if last.is_file():
        parts.append(str(last))
    return SEP.join(parts)


def _number(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) else None
