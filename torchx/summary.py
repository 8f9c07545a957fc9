"""Fold a run's events into the few numbers a table row needs, in constant memory.

The TUI feeds events here as it tails them, so a row never re-reads a file; the reader turns the
folded state and the process table into a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunSummary:
    """What the latest events say about a run (the last `start` wins after a resume)."""

    name: str | None = None
    config: str | None = None
    pid: int | None = None
    create_time: float | None = None
    host: str | None = None
    world_size: int | None = None
    devices: Any = None
    max_epochs: int | None = None
    steps_per_epoch: int | None = None
    first_start_time: float | None = None
    start_time: float | None = None
    starts: int = 0
    epoch: int | None = None
    epochs_done: int = 0
    step: int | None = None
    eta_s: float | None = None
    samples_per_s: float | None = None
    last_time: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    end_status: str | None = None
    end_time: float | None = None
    error: dict[str, Any] | None = None

    def update(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: dict[str, Any]) -> None:
        kind, when = event.get("event"), event.get("time")
        self.last_time = when if isinstance(when, (int, float)) else self.last_time
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        if handler is not None:
            handler(self, event)

    def _on_start(self, event: dict[str, Any]) -> None:
        self.starts += 1
        self.start_time = event.get("time")
        if self.first_start_time is None:
            self.first_start_time = self.start_time
        for key in ("name", "config", "pid", "create_time", "host", "world_size", "devices",
                    "max_epochs", "steps_per_epoch"):
            setattr(self, key, event.get(key))
        self.end_status, self.end_time, self.error, self.eta_s = None, None, None, None

    def _on_progress(self, event: dict[str, Any]) -> None:
        self.epoch, self.step = event.get("epoch", self.epoch), event.get("step", self.step)
        self.eta_s = event.get("eta_s", self.eta_s)
        if event.get("samples_per_s") is not None:
            self.samples_per_s = event["samples_per_s"]
        metrics = event.get("metrics")
        if isinstance(metrics, dict):
            self.metrics.update({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
        if event.get("event") == "epoch" and isinstance(self.epoch, int):
            self.epochs_done = self.epoch + 1

    def _on_end(self, event: dict[str, Any]) -> None:
        self.end_status = event.get("status")
        self.end_time = event.get("time")
        self.error = event.get("error")
        self.eta_s = None

    @property
    def elapsed_s(self) -> float | None:
        """Wall time from the first start to the end (or the latest event)."""
        if self.first_start_time is None:
            return None
        last = self.end_time if self.end_time is not None else self.last_time
        return None if last is None else max(0.0, last - self.first_start_time)


_HANDLERS = {
    "start": RunSummary._on_start,
    "step": RunSummary._on_progress,
    "epoch": RunSummary._on_progress,
    "end": RunSummary._on_end,
}
