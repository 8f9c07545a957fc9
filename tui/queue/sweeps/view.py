"""What the sweep view shows of one sweep, from its ranked trials (`study.results`): the header line, each
trial's cells, the best-so-far curve over trial numbers, one scatter a key (the objective against it, on
a log axis where the space is log), the importances as bars of text; and `SweepReader`, the I/O of the
view's worker (the journal, the trials' runs, their table rows for diff and compare), which reads
everything again only when a file it depends on changed.

Pure but for `SweepReader.read`, which imports `study` (Optuna; the importances load scikit-learn) when
first called, in the worker: importing this module loads neither Optuna, Textual nor torch.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torchx.events import EVENTS_FILE, is_finite_number
from torchx.experiment import RUN_JSON
from tui.queue.sweeps.space import CHOICES, Param
from tui.queue.sweeps.spec import JOURNAL, SWEEP_JSON, Sweep, SweepError, load_sweep, sweep_dir
from tui.queue.sweeps.trials import TrialRow, best
from tui.table.rows import RunRow
from tui.table.scanner import RunTracker
from tui.text import bar, clip, objective_text, param_text, short_keys

TOLD = ("complete", "pruned", "fail")
"""Optuna's states of a trial that has been told; `running` and `waiting` are in flight."""
FULL_READ_S = 30.0
"""A live sweep whose files have not changed is read whole again this often anyway: a trial's process
can die without a word (its run becomes `lost`)."""
RUN_WIDTH = 22


@dataclass(frozen=True)
class Plot:
    """One plot of the view: `points` as a braille scatter, `line` (the best so far) joined."""

    title: str
    xlabel: str
    points: tuple[tuple[float, float], ...] = ()
    line: tuple[tuple[float, float], ...] = ()
    log: bool = False
    """The x axis in log scale (a `loguniform` key)."""
    ticks: tuple[str, ...] = ()
    """Labels of x = 0, 1, … when a key's choices are not numbers."""


@dataclass(frozen=True)
class SweepData:
    """A sweep as read at one moment: equality says whether the view must change."""

    sweep: Sweep
    rows: tuple[TrialRow, ...]
    """Ranked (`trials.rank`)."""
    importances: tuple[tuple[str, float], ...] = ()
    """(key, share of the objective's variance), largest first; empty when Optuna cannot say."""

    @property
    def live(self) -> bool:
        """Whether it may still change: trials are in flight, or more will be asked."""
        return not self.sweep.done or any(r.state not in TOLD for r in self.rows)


# ---- the words ----

def header(data: SweepData) -> str:
    """`s · random · val/acc (max) · 3/3 told · best s-1 0.7`."""
    sweep, rows = data.sweep, data.rows
    told = sum(r.state in TOLD for r in rows)
    running = len(rows) - told
    state = " · cancelled" if sweep.cancelled else ""
    flight = f", {running} running" if running else ""
    top = best(rows)
    result = f"best {top.run} {objective_text(top.value)}" if top else "no trial complete yet"
    return (f"{sweep.name} · {sweep.sampler} · {sweep.metric} ({sweep.mode}) · {told}/{sweep.trials} told"
            f"{flight}{state} · {result}")


def trial_status(row: TrialRow) -> str:
    """The trial's status as the runs table would show its run, `pruned` when Optuna was told so (a run
    stopped by hand is a pruned trial too), `failed` for a failed trial with no run, `asked` for one
    whose run is not queued yet."""
    if row.state == "pruned":
        return "pruned"
    if row.status:
        return row.status
    return "failed" if row.state == "fail" else "asked"


def columns(sweep: Sweep) -> tuple[str, ...]:
    """The trials table's headers: place, run, status, the objective, epochs, then each key, short."""
    return ("#", "trial", "status", sweep.metric.rsplit("/", 1)[-1], "ep",
            *short_keys(sweep.space.keys).values())


def trial_cells(place: int, row: TrialRow, sweep: Sweep) -> tuple[str, ...]:
    """One row of the trials table (the status without its symbol: the screen adds it)."""
    params = tuple(param_text(row.params[k]) if k in row.params else "-" for k in sweep.space.keys)
    return (str(place), clip(row.run, RUN_WIDTH, middle=True), trial_status(row), objective_text(row.value),
            str(row.epochs), *params)


def importance_lines(data: SweepData, width: int = 60) -> list[str]:
    """One bar a key, largest first (`lr  ██████░░░░ 0.71`), or why there are none yet."""
    if not data.importances:
        return [importance_note(data)]
    keys = short_keys(data.sweep.space.keys)
    label = max(len(keys[k]) for k, _ in data.importances)
    bars = max(10, width - label - 7)
    return [f"{keys[k]:<{label}} {bar(share, bars)} {share:.2f}" for k, share in data.importances]


def importance_note(data: SweepData) -> str:
    complete = sum(r.state == "complete" for r in data.rows)
    if len(data.sweep.space.params) < 2:
        return "importances compare two or more swept keys; this sweep has one"
    if complete < 2:
        return f"importances need two complete trials ({complete} so far)"
    return "no importances: the complete trials do not tell the keys apart (the same value each?)"


# ---- the plots ----

def _complete(rows: Iterable[TrialRow]) -> list[TrialRow]:
    done = (r for r in rows if r.state == "complete" and r.value is not None and math.isfinite(r.value))
    return sorted(done, key=lambda r: r.number)


def history_plot(data: SweepData) -> Plot:
    """Each complete trial's objective by trial number, and the best so far as a line."""
    points, line = [], []
    top: float | None = None
    for row in _complete(data.rows):
        value = float(row.value)  # type: ignore[arg-type]
        points.append((float(row.number), value))
        better = max if data.sweep.mode == "max" else min
        top = value if top is None else better(top, value)
        line.append((float(row.number), top))
    return Plot(f"best {data.sweep.metric} so far", "trial", tuple(points), tuple(line))


def param_plots(data: SweepData) -> list[Plot]:
    """One scatter a key: the objective of each complete trial against the key's value."""
    keys = short_keys(data.sweep.space.keys)
    complete = _complete(data.rows)
    return [_param_plot(param, keys[param.key], data.sweep.metric, complete)
            for param in data.sweep.space.params]


def _param_plot(param: Param, label: str, metric: str, rows: Sequence[TrialRow]) -> Plot:
    ticks: tuple[str, ...] = ()
    if param.kind == CHOICES and not all(is_finite_number(c) for c in param.choices):
        ticks = tuple(param_text(c) for c in param.choices)
    points = []
    for row in rows:
        x = _x(param, row.params.get(param.key), ticks)
        if x is not None:
            points.append((x, float(row.value)))  # type: ignore[arg-type]
    return Plot(f"{metric} vs {label}", label, tuple(points), log=param.log, ticks=ticks)


def _x(param: Param, value: Any, ticks: tuple[str, ...]) -> float | None:
    if ticks:
        text = param_text(value)
        return float(ticks.index(text)) if text in ticks else None
    if not is_finite_number(value) or (param.log and value <= 0):
        return None
    return float(value)


# ---- reading ----

@dataclass
class SweepRead:
    """What one read gives the view: the sweep's data, or why it cannot be read, and the table rows of
    its trials' runs (by name; for diff and compare, which take the runs table's rows)."""

    data: SweepData | None
    error: str = ""
    runs: dict[str, RunRow] = field(default_factory=dict)


class SweepReader:
    """The view's worker's reads of one sweep. `read` reads the sweep, its journal and its trials' runs,
    or, when none of their files changed since the last read (and that read is under `FULL_READ_S`
    old), returns None: a settled or idle sweep costs a few `stat` calls a look. The importances
    (fANOVA, costly) are asked again only when the complete trials changed."""

    def __init__(self, save_dir: Path, name: str, host: str | None = None) -> None:
        self.save_dir, self.name = Path(save_dir), name
        self.host = host or socket.gethostname()
        self._trackers: dict[str, RunTracker] = {}
        self._run_names: list[str] = []
        self._stamp: tuple[Any, ...] | None = None
        self._read_at = 0.0
        self._complete: tuple[tuple[int, float | None], ...] | None = None
        self._importances: tuple[tuple[str, float], ...] = ()

    def read(self) -> SweepRead | None:
        stamp = self._files_stamp()
        if stamp == self._stamp and time.monotonic() - self._read_at < FULL_READ_S:
            return None
        self._read_at = time.monotonic()
        try:
            sweep = load_sweep(self.save_dir, self.name)
            rows = self._results(sweep)
        except SweepError as exc:
            self._stamp = stamp
            return SweepRead(None, str(exc))
        except Exception as exc:  # a damaged journal is this view's error line, not the app's crash
            self._stamp = stamp
            why = f"{exc.__class__.__name__}: {exc}"
            return SweepRead(None, f"sweep '{self.name}': cannot read its journal: {why}")
        self._stamp = self._files_stamp()
        data = SweepData(sweep, tuple(rows), self._importances_of(sweep, rows))
        return SweepRead(data, "", self._runs(rows))

    def _results(self, sweep: Sweep) -> list[TrialRow]:
        from tui.queue.sweeps.study import results

        rows = results(self.save_dir, sweep)
        self._run_names = [r.run for r in rows]
        return rows

    def _importances_of(self, sweep: Sweep, rows: list[TrialRow]) -> tuple[tuple[str, float], ...]:
        complete = tuple(sorted((r.number, r.value) for r in rows if r.state == "complete"))
        if complete != self._complete:
            from tui.queue.sweeps.study import importances

            self._complete = complete
            shares = importances(self.save_dir, sweep)
            self._importances = tuple(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))
        return self._importances

    def _runs(self, rows: list[TrialRow]) -> dict[str, RunRow]:
        """The runs-table row of each trial that has a run directory (one `RunTracker` each, kept)."""
        runs = {}
        for row in rows:
            if not row.status:
                continue
            tracker = self._trackers.get(row.run)
            if tracker is None:
                tracker = self._trackers[row.run] = RunTracker(str(self.save_dir / row.run))
            runs[row.run] = tracker.refresh(self.host)
        return runs

    def _files_stamp(self) -> tuple[Any, ...]:
        """Size and mtime of `sweep.json`, the journal and each known trial's `run.json` and event log."""
        folder = sweep_dir(self.save_dir, self.name)
        paths = [folder / SWEEP_JSON, folder / JOURNAL]
        for run in self._run_names:
            paths += [self.save_dir / run / RUN_JSON, self.save_dir / run / EVENTS_FILE]
        return tuple(_stat(p) for p in paths)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
