"""`RunRow`: what the runs table shows for one directory, and how a row is rebuilt from its JSON fields
(the row cache, the fold workers). Torch- and Textual-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.run.files import Scalar


@dataclass(frozen=True)
class RunRow:
    """What the table shows for one directory; equality decides whether the UI must repaint it."""

    name: str
    status: str
    config: str = ""
    epoch: int | None = None
    max_epochs: int | None = None
    eta_s: float | None = None
    metric: tuple[str, float] | None = None
    gpus: str = ""
    started: float | None = None
    elapsed_s: float | None = None
    running_since: float | None = None
    bad_lines: int = 0
    error: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    """Latest value of every metric, for the filter (`val/acc>0.9`)."""
    cfg: dict[str, Scalar] | None = None
    """The resolved config, flattened to key paths (`tui.run.files.flatten`), for the filter; None until a
    filter asks for config keys (`RunsScanner.want_config`): a first fill reads no config.yaml."""
    tags: tuple[str, ...] = ()
    note: str = ""
    meta_error: str = ""
    problem: str = ""
    """Why the directory is `damaged`, or its log's first unreadable line (`events.jsonl line 3: ...`):
    one line naming the file, shown under the table for the selected row and in the run view."""
    queue_place: int | None = None
    """Its place in the save dir's queue while it is `queued` (1: launched next), else None."""
    sweep: str = ""
    """The sweep it is a trial of (its `run.json` `queued` block), else empty: the `sweep:` filter and
    the runs screen's `w` read it."""

    @property
    def sort_key(self) -> tuple[float, str]:
        return (-(self.started or 0.0), self.name)


def row_from_fields(fields: dict[str, Any]) -> RunRow | None:
    """A row from its JSON fields (the row cache, `tui.table.fold_workers`); None if they do not fit."""
    try:
        metric = fields.get("metric")
        return RunRow(**{**fields, "metric": tuple(metric) if metric else None,
                         "tags": tuple(fields.get("tags") or ())})
    except TypeError:
        return None


def latest_val_metric(metrics: dict[str, float], monitor: str | None = None) -> tuple[str, float] | None:
    """The monitored metric if it is a validation one, else the first `val/` metric; latest value."""
    if monitor and monitor.startswith("val/") and monitor in metrics:
        return monitor[4:], metrics[monitor]
    for key, value in metrics.items():
        if key.startswith("val/"):
            return key[4:], value
    return None
