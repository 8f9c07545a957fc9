"""Fold a run's events into the few numbers a table row needs, in constant memory.

The TUI feeds events here as it tails them, so a row never re-reads a file; the reader turns the
folded state and the process table into a status. Only values of the types `events.EVENT_SCHEMA` gives
are folded (an `end` only with a known status), whoever built the events: a field of another type
leaves the number it would have set as it was, so no caller ever meets `max_epochs = "five"`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torchx.events import END_STATUSES, EVENT_SCHEMA, INT, NUMBER, OBJECT, Types

_START_TYPES = dict(EVENT_SCHEMA["start"])
_START_FOLDED = ("name", "config", "pid", "create_time", "boot_time", "host", "world_size", "devices",
                 "max_epochs", "steps_per_epoch")


@dataclass
class RunSummary:
    """What the latest events say about a run (the last `start` wins after a resume)."""

    name: str | None = None
    config: str | None = None
    pid: int | None = None
    create_time: float | None = None
    boot_time: float | None = None
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
        if type(when) in _NUMERIC:
            self.last_time = when
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        if handler is not None:
            handler(self, event)

    def _on_start(self, event: dict[str, Any]) -> None:
        self.starts += 1
        self.start_time = _typed(event.get("time"), NUMBER)
        if self.first_start_time is None:
            self.first_start_time = self.start_time
        for key in _START_FOLDED:
            setattr(self, key, _typed(event.get(key), _START_TYPES[key]))
        self.end_status, self.end_time, self.error, self.eta_s = None, None, None, None

    def _on_progress(self, event: dict[str, Any]) -> None:
        get = event.get  # checked inline: this runs for most events of a first scan
        epoch, step = get("epoch", self.epoch), get("step", self.step)
        eta, rate = get("eta_s", self.eta_s), get("samples_per_s")
        if type(epoch) in INT:
            self.epoch = epoch
        if type(step) in INT:
            self.step = step
        if type(eta) in NUMBER:
            self.eta_s = eta
        if type(rate) in _NUMERIC:
            self.samples_per_s = rate
        metrics = get("metrics")
        if type(metrics) is dict:
            self.metrics.update({k: v for k, v in metrics.items() if type(v) in _NUMERIC})
        if get("event") == "epoch" and self.epoch is not None:
            self.epochs_done = self.epoch + 1

    def _on_end(self, event: dict[str, Any]) -> None:
        status = event.get("status")
        if type(status) is not str or status not in END_STATUSES:
            return  # not an end this summary can fold (a reader reports the line as bad)
        self.end_status = status
        self.end_time = _typed(event.get("time"), NUMBER)
        self.error = _typed(event.get("error"), OBJECT)
        self.eta_s = None

    @property
    def elapsed_s(self) -> float | None:
        """Wall time from the first start to the end (or the latest event)."""
        if self.first_start_time is None:
            return None
        last = self.end_time if self.end_time is not None else self.last_time
        return None if last is None else max(0.0, last - self.first_start_time)


_NUMERIC = frozenset({int, float})


def _typed(value: Any, types: Types, default: Any = None) -> Any:
    """`value` if its type is one of `types`, else `default`."""
    return value if type(value) in types else default


_HANDLERS = {
    "start": RunSummary._on_start,
    "step": RunSummary._on_progress,
    "epoch": RunSummary._on_progress,
    "end": RunSummary._on_end,
}
