"""Several runs' metrics side by side: the series to overlay and the table of final and best values.

Each run is read with the run view's `RunLoader`, so a run of millions of steps opens from a sample
at once and keeps at most a few hundred points per metric (`tui.live.series`). Torch- and Textual-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torchx.events import EVENTS_FILE
from tui.live.data import MetricRow, RunData
from tui.live.loader import RunLoader
from tui.run.files import monitor_from_config, read_config
from tui.table.rows import RunRow
from tui.text import duration_text, metric_cells, status_text


@dataclass(frozen=True)
class RunMetrics:
    """One run's metric series (bucketed points) and table rows, by label, validation first."""

    name: str
    series: dict[str, tuple[list[float], list[float]]]
    rows: dict[str, MetricRow]
    monitor: str | None


def open_loader(run_dir: Path) -> RunLoader:
    """A loader opened on the run's events, told its checkpoint metric (which way is best) first."""
    loader = RunLoader(run_dir / EVENTS_FILE)
    loader.data.monitor, loader.data.monitor_mode = monitor_from_config(read_config(run_dir))
    loader.open()
    return loader


def run_metrics(name: str, data: RunData) -> RunMetrics:
    return RunMetrics(name, {label: s.points() for label, s in data.series.items()},
                      {row.label: row for row in data.metric_rows()}, data.monitor)


def shared_metrics(runs: list[RunMetrics]) -> list[str]:
    """The metrics every run logged, in the first run's order (validation first)."""
    if not runs:
        return []
    common = set(runs[0].rows).intersection(*(run.rows for run in runs[1:]))
    return [label for label in runs[0].rows if label in common]


def default_metric(runs: list[RunMetrics], shared: list[str]) -> str | None:
    """The first run's checkpoint metric if all runs have it, else the first shared one."""
    monitor = runs[0].monitor if runs else None
    if monitor in shared:
        return monitor
    return shared[0] if shared else None


def table_rows(rows: list[RunRow], runs: list[RunMetrics],
               shared: list[str]) -> list[tuple[str | None, str, tuple[str, ...]]]:
    """(key, label, one cell per run): status, duration, epochs, then the final and the best (with its
    epoch) of each shared metric, keyed by the metric on its final row; `runs` align with `rows`."""
    table: list[tuple[str | None, str, tuple[str, ...]]] = [
        (None, "status", tuple(status_text(row) for row in rows)),
        (None, "duration", tuple(duration_text(row.elapsed_s) for row in rows)),
        (None, "epochs", tuple(_epochs(row) for row in rows)),
    ]
    for label in shared:
        cells = [metric_cells(run.rows[label]) for run in runs]
        table.append((label, cells[0][0], tuple(c[1] for c in cells)))
        table.append((None, "  best @epoch", tuple(c[2] for c in cells)))
    return table


def _epochs(row: RunRow) -> str:
    if row.epoch is None:
        return ""
    return f"{row.epoch}/{row.max_epochs}" if row.max_epochs else str(row.epoch)
