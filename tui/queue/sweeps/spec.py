"""A sweep on disk: `save/.sweeps/<sweep>/sweep.json` says what it wants, `journal.log` (Optuna's
`JournalStorage`, `study`) what it has asked and been told, and each trial is a run `save/<sweep>-<n>/`
whose `run.json` `queued` block names the sweep and the trial (`tui.run.files.trial_of`).

    {"version": 1, "name": "s", "created_at": 1796555748.5,
     "request": {"config": "/abs/c.yaml", "name": "s", "save_dir": "/abs/save", "gpus": 0,
                 "cpu_processes": 1, "overrides": ["trainer_params.max_epochs=5"], "slurm": null,
                 "workdir": "/abs/cwd"},
     "space": {"optim.lr": "loguniform(1e-5,1e-2)"}, "sampler": "tpe", "seed": 0, "trials": 20,
     "metric": "val/acc", "mode": "max", "prune": {"startup_trials": 2, "warmup_epochs": 1},
     "parallel": 2, "cancelled": false, "done": false}

`request` is the queued request of every trial (`tui.queue.store.request_record`), less its name and the
trial's own overrides. `trials` grows with `extend`; `cancelled` stops the asking and the trials in
flight; `done` is written by the runner once every trial asked has been told and no more will be
asked: `ensure_runner` starts a runner for any sweep not done. Every write goes through a temporary
file and `os.replace`, under the queue's edit lock (the runner decides to exit under that lock too,
so a sweep created or extended then always finds a runner). Optuna-free, torch- and Textual-free.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torchx.experiment import read_json, validate_run_name, write_atomic
from tui.launch.slurm import spec_from_record
from tui.queue.sweeps.space import Space, SpaceError, space_from_record

SWEEPS_DIR = ".sweeps"
SWEEP_JSON = "sweep.json"
JOURNAL = "journal.log"
SAMPLERS = ("grid", "random", "tpe")
MODES = ("min", "max")
VERSION = 1


class SweepError(ValueError):
    """A sweep that cannot be used (missing, damaged, or asked something it cannot do): one line."""


@dataclass(frozen=True)
class Pruning:
    """Optuna's MedianPruner: a trial is stopped at an epoch whose objective is worse than the median
    of the completed trials at that epoch, once `startup_trials` trials have completed and from
    epoch `warmup_epochs` on (epochs count from 0)."""

    startup_trials: int = 2
    warmup_epochs: int = 1


@dataclass(frozen=True)
class Sweep:
    name: str
    request: dict[str, Any]
    space: Space
    sampler: str
    trials: int
    metric: str
    mode: str
    parallel: int = 1
    prune: Pruning | None = None
    seed: int = 0
    created_at: float = 0.0
    cancelled: bool = False
    done: bool = False

    @property
    def gpus(self) -> int:
        return int(self.request.get("gpus") or 0)

    @property
    def cpu_processes(self) -> int:
        return int(self.request.get("cpu_processes") or 1)

    def devices_label(self) -> str:
        slurm = self.request.get("slurm")
        if isinstance(slurm, dict):
            try:
                return f"Slurm {spec_from_record(slurm).label()}"
            except ValueError:
                return "Slurm"
        if self.gpus:
            return f"{self.gpus} GPU{'s' if self.gpus > 1 else ''}"
        return "cpu" if self.cpu_processes == 1 else f"cpu×{self.cpu_processes}"

    def record(self) -> dict[str, Any]:
        return {"version": VERSION, "name": self.name, "created_at": self.created_at, "request": self.request,
                "space": self.space.record(), "sampler": self.sampler, "seed": self.seed,
                "trials": self.trials, "metric": self.metric, "mode": self.mode,
                "prune": asdict(self.prune) if self.prune else None, "parallel": self.parallel,
                "cancelled": self.cancelled, "done": self.done}


def sweeps_dir(save_dir: Path) -> Path:
    return Path(save_dir) / SWEEPS_DIR


def sweep_dir(save_dir: Path, name: str) -> Path:
    return sweeps_dir(save_dir) / name


def journal_path(save_dir: Path, name: str) -> Path:
    return sweep_dir(save_dir, name) / JOURNAL


def trial_name(sweep: str, number: int) -> str:
    """The run of trial `number`: `<sweep>-<number>`."""
    return f"{sweep}-{number}"


# ---- reading and writing sweep.json ----

def parse_sweep(record: Any, name: str) -> Sweep:
    """A `sweep.json` object checked field by field; SweepError names the first that is wrong. The
    name is the directory's, whatever the file says."""
    if not isinstance(record, dict):
        raise SweepError(f"sweep '{name}': {SWEEP_JSON} is not an object")
    request = record.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("config"), str):
        raise SweepError(f"sweep '{name}': request: expected a queued request")
    try:
        space = space_from_record(record.get("space"))
    except SpaceError as exc:
        raise SweepError(f"sweep '{name}': {exc}") from None
    sampler, mode = record.get("sampler"), record.get("mode")
    if sampler not in SAMPLERS:
        raise SweepError(f"sweep '{name}': sampler: expected one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if mode not in MODES:
        raise SweepError(f"sweep '{name}': mode: expected min or max, got {mode!r}")
    metric = record.get("metric")
    if not isinstance(metric, str) or not metric:
        raise SweepError(f"sweep '{name}': metric: expected a metric name, got {metric!r}")
    counts = {key: record.get(key) for key in ("trials", "parallel", "seed")}
    for key, value in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "seed" else 1):
            raise SweepError(f"sweep '{name}': {key}: expected a whole number, got {value!r}")
    return Sweep(name, request, space, str(sampler), int(record["trials"]), metric, str(mode),
                 int(record["parallel"]), _pruning(record.get("prune"), name), int(record["seed"]),
                 float(record.get("created_at") or 0.0), record.get("cancelled") is True,
                 record.get("done") is True)


def _pruning(record: Any, name: str) -> Pruning | None:
    if record is None:
        return None
    try:
        pruning = Pruning(**record)
    except TypeError:
        raise SweepError(f"sweep '{name}': prune: expected startup_trials and warmup_epochs") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in asdict(pruning).values()):
        raise SweepError(f"sweep '{name}': prune: expected whole numbers ≥ 0")
    return pruning


def load_sweep(save_dir: Path, name: str) -> Sweep:
    """The sweep `name` of `save_dir`; SweepError when there is none or its file cannot be used."""
    if validate_run_name(name):
        raise SweepError(f"'{name}' is not a sweep name")
    path = sweep_dir(save_dir, name) / SWEEP_JSON
    record = read_json(path)
    if record is None:
        known = ", ".join(sweep_names(save_dir)) or "none"
        raise SweepError(f"no sweep '{name}' in {save_dir} (sweeps: {known})")
    return parse_sweep(record, name)


def write_sweep(save_dir: Path, sweep: Sweep) -> None:
    """Atomically (a temporary file beside it, then `os.replace`); call under the queue's edit lock."""
    write_atomic(sweep_dir(save_dir, sweep.name) / SWEEP_JSON, json.dumps(sweep.record(), indent=2))


def create_sweep_dir(save_dir: Path, name: str) -> Path:
    """Take the sweep's name: an atomic mkdir, so two commands never make one sweep twice."""
    problem = validate_run_name(name)
    if problem:
        raise SweepError(problem.replace("run name", "sweep name"))
    sweeps_dir(save_dir).mkdir(parents=True, exist_ok=True)
    path = sweep_dir(save_dir, name)
    try:
        path.mkdir()
    except FileExistsError:
        raise SweepError(f"--name {name}: sweep '{name}' already exists in {save_dir}") from None
    return path


def sweep_names(save_dir: Path) -> list[str]:
    """Every sweep of the save dir (a directory of `.sweeps/` holding a `sweep.json`), by name."""
    try:
        with os.scandir(sweeps_dir(save_dir)) as entries:
            names = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return []
    return sorted(n for n in names if (sweeps_dir(save_dir) / n / SWEEP_JSON).is_file())


class SweepScan:
    """The save dir's sweeps, each `sweep.json` read again only when it changes (one `stat` a sweep a
    look): what the runner asks every tick, and `ensure_runner` once."""

    def __init__(self, save_dir: Path) -> None:
        self.save_dir = Path(save_dir)
        self.sweeps: dict[str, Sweep] = {}
        self.invalid: dict[str, str] = {}
        self._stamps: dict[str, tuple[int, int, int]] = {}

    def refresh(self) -> dict[str, Sweep]:
        names = set(sweep_names(self.save_dir))
        for name in set(self._stamps) - names:
            self._forget(name)
        for name in names:
            try:
                st = os.stat(sweep_dir(self.save_dir, name) / SWEEP_JSON)
            except OSError:
                self._forget(name)
                continue
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self._stamps.get(name) != stamp:
                self._stamps[name] = stamp
                self._read(name)
        return self.sweeps

    def unfinished(self, refresh: bool = True) -> list[Sweep]:
        """The sweeps a runner must look after: not done (cancelled ones until their trials are told);
        as last read when not `refresh`."""
        sweeps = self.refresh() if refresh else self.sweeps
        return [s for _, s in sorted(sweeps.items()) if not s.done]

    def _read(self, name: str) -> None:
        self.sweeps.pop(name, None)
        self.invalid.pop(name, None)
        try:
            self.sweeps[name] = load_sweep(self.save_dir, name)
        except SweepError as exc:
            self.invalid[name] = str(exc)

    def _forget(self, name: str) -> None:
        self._stamps.pop(name, None)
        self.sweeps.pop(name, None)
        self.invalid.pop(name, None)


def unfinished_sweeps(save_dir: Path) -> list[Sweep]:
    """The sweeps not done yet; costs one directory listing when there is no `.sweeps/`."""
    if not sweeps_dir(save_dir).is_dir():
        return []
    return SweepScan(save_dir).unfinished()
