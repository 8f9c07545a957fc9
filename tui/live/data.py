"""One run's events folded for the live view: header numbers, metric series, best and latest values.

`RunData.feed(events)` is called from the view's worker with what the tailer read; memory stays
bounded however long the run (a `Series` per metric, at most `MAX_METRICS` metrics). The progress
numbers (elapsed, ETA, finish time) are computed for a given `now`, so tests inject a clock.
Torch- and Textual-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from torchx.summary import RunSummary
from tui.live.series import DEFAULT_CAPACITY, Point, Series

MAX_METRICS = 64
_HIGHER_IS_BETTER = ("acc", "f1", "precision", "recall", "auc", "iou", "map", "psnr", "ssim", "dice",
                     "score", "top")


def metric_mode(name: str, monitor: str | None = None, monitor_mode: str | None = None) -> str:
    """"max" when a higher value is better (accuracy-like names, or the checkpoint's own mode)."""
    if name == monitor and monitor_mode in ("min", "max"):
        return monitor_mode
    leaf = name.rsplit("/", 1)[-1].lower()
    return "max" if any(word in leaf for word in _HIGHER_IS_BETTER) else "min"


def series_label(name: str, kind: str) -> str:
    """Per-step metrics keep their name; a train metric averaged per epoch gets ` (epoch)`."""
    return f"{name} (epoch)" if kind == "epoch" and name.startswith("train/") else name


@dataclass(frozen=True)
class MetricRow:
    label: str
    mode: str
    latest: Point | None
    best: Point | None
    count: int


@dataclass(frozen=True)
class Progress:
    """The header's numbers at one instant."""

    epoch: int | None
    max_epochs: int | None
    step: int | None
    total_steps: int | None
    fraction: float | None
    elapsed_s: float | None
    eta_s: float | None
    finish_at: float | None
    samples_per_s: float | None
    ended_at: float | None = None


@dataclass
class RunData:
    """Folds a run's events; `monitor`/`monitor_mode` come from `ckpt` events or the config."""

    capacity: int = DEFAULT_CAPACITY
    summary: RunSummary = field(default_factory=RunSummary)
    series: dict[str, Series] = field(default_factory=dict)
    monitor: str | None = None
    monitor_mode: str | None = None
    ckpts: dict[str, dict[str, Any]] = field(default_factory=dict)
    argv: list[str] | None = None
    entry: str | None = None
    version: int = 0
    """Bumped on every fed batch that changed something: the view redraws only then."""

    def feed(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.apply(event)
        if events:
            self.version += 1

    def apply(self, event: dict[str, Any]) -> None:
        self.summary.apply(event)
        kind = event.get("event")
        if kind in ("step", "epoch"):
            self._add_metrics(event, kind)
        elif kind == "start" and self.argv is None and isinstance(event.get("argv"), list):
            self.argv = [str(a) for a in event["argv"]]
            self.entry = event.get("entry") if isinstance(event.get("entry"), str) else None
        elif kind == "ckpt" and isinstance(event.get("path"), str):
            self.ckpts[event["path"]] = event
            if isinstance(event.get("monitor"), str):
                self.monitor = event["monitor"]

    def _add_metrics(self, event: dict[str, Any], kind: str) -> None:
        metrics, step, epoch = event.get("metrics"), event.get("step"), event.get("epoch")
        if not isinstance(metrics, dict) or not isinstance(step, (int, float)):
            return
        epoch = epoch if isinstance(epoch, int) else None
        for name, value in metrics.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            label = series_label(str(name), kind)
            series = self.series.get(label)
            if series is None:
                if len(self.series) >= MAX_METRICS:
                    continue  # beyond the plot's metrics: a run logging thousands stays bounded
                mode = metric_mode(str(name), self.monitor, self.monitor_mode)
                series = self.series[label] = Series(mode, self.capacity)
            series.add(float(step), float(value), epoch)

    def metric_rows(self) -> list[MetricRow]:
        """Validation metrics first, then the rest, each group by name."""
        labels = sorted(self.series, key=lambda s: (not s.startswith("val/"), s))
        return [MetricRow(label, s.mode, s.latest, s.best, s.count)
                for label, s in ((label, self.series[label]) for label in labels)]

    def progress(self, status: str, now: float) -> Progress:
        return progress(self.summary, status, now)


def progress(s: RunSummary, status: str, now: float) -> Progress:
    """Epoch, step and fraction done; elapsed, ETA and finish time as of `now` for a running run."""
    total = s.max_epochs * s.steps_per_epoch if s.max_epochs and s.steps_per_epoch else None
    fraction = None
    if total and isinstance(s.step, (int, float)):
        fraction = min(1.0, max(0.0, s.step / total))
    if status == "finished":
        fraction = 1.0 if total else fraction
    since = max(0.0, now - s.last_time) if status == "running" and s.last_time else 0.0
    elapsed = None if s.elapsed_s is None else s.elapsed_s + since
    eta = finish = None
    if status == "running" and isinstance(s.eta_s, (int, float)) and math.isfinite(s.eta_s):
        eta = max(0.0, s.eta_s - since)
        finish = now + eta
    epoch = s.epoch if isinstance(s.epoch, int) else None
    return Progress(epoch, s.max_epochs, s.step, total, fraction, elapsed, eta, finish,
                    s.samples_per_s if status == "running" else None, s.end_time)


def predicted_total_s(events: list[dict[str, Any]], at_fraction: float) -> tuple[float, float] | None:
    """(elapsed, elapsed + ETA) at the first event past `at_fraction` of the steps: the total time
    the view predicted then. None when the events never got that far or carried no ETA."""
    s = RunSummary()
    for event in events:
        s.apply(event)
        total = s.max_epochs * s.steps_per_epoch if s.max_epochs and s.steps_per_epoch else None
        if not total or event.get("event") != "step" or not isinstance(s.step, int):
            continue
        if s.step >= at_fraction * total and isinstance(s.eta_s, (int, float)):
            elapsed = s.elapsed_s or 0.0
            return elapsed, elapsed + s.eta_s
    return None


def advance(p: Progress, seconds: float) -> Progress:
    """The progress `seconds` after it was computed: a running run's clock keeps going."""
    if p.eta_s is None or seconds <= 0:
        return p
    elapsed = None if p.elapsed_s is None else p.elapsed_s + seconds
    return replace(p, elapsed_s=elapsed, eta_s=max(0.0, p.eta_s - seconds))
