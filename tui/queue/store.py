"""The queue on disk: a queued run is a reserved run directory like any launch's, whose `run.json` holds

    {"queued": {"position": 3, "queued_at": 1795000000.0, "request": {"config": "/abs/c.yaml",
     "name": "n", "save_dir": "/abs/save", "gpus": 1, "cpu_processes": 1, "overrides": ["a.b=1"],
     "slurm": null, "workdir": "/abs/cwd"}}}

and no launch yet (`gpus` is the number of GPUs wanted: the runner picks which at launch time). The
launch that starts it writes its record into the same `run.json` (`tui.launch.request.with_history`
keeps this block beside it), so the directory is the queue entry, the run, and its history at once.

Why a directory and not a list file: the name is taken the moment a run is queued (two queues or a
launch can never claim it twice), the table shows a queued run as a row like any other, and nothing
else has to be kept in step. Edits of the queue (a new position, a move, a remove, the runner's launch)
happen under `save/.queue/edit.lock` (flock), so a remove never races the launch of the same run.
The runner's own files live in `save/.queue/` too (hidden: never listed as a run). Torch- and
Textual-free.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from torchx.experiment import RUN_JSON, RunDirError, read_json, reserve_run_dir, run_dir_names, write_atomic
from tui.errors import LaunchError
from tui.history.tidy import TrashEntry, trash_run
from tui.launch.request import LaunchRequest, write_run_json
from tui.launch.slurm import spec_from_record
from tui.run.files import mtime_ns
from tui.run.status import queued_block

QUEUE_DIR = ".queue"
EDIT_LOCK = "edit.lock"
PAUSED = "paused"
"""A file whose presence pauses the whole queue: the runner launches nothing while it exists."""
LAST_POSITION = "last-position"
RESCAN_S = 30.0
"""A full look at every `run.json` at least this often, even when the save dir's mtime says nothing
changed (every write of a `run.json` goes through a temporary file in the save dir, which changes it)."""
_OVERRIDE = re.compile(r"[A-Za-z_][\w.\[\]-]*=.*", re.S)


@dataclass(frozen=True)
class QueuedRun:
    """One run waiting in the queue: its directory, its place, and what it asks for."""

    run_dir: Path
    position: float
    queued_at: float
    request: LaunchRequest
    """The launch it asks for, without GPU ids (`gpus` says how many; the runner picks them)."""
    gpus: int = 0
    workdir: Path | None = None
    """Where it was queued from: its launch runs there (relative paths in its config resolve there)."""

    @property
    def name(self) -> str:
        return self.run_dir.name

    def order(self) -> tuple[float, float, str]:
        return self.position, self.queued_at, self.name

    def wanted_label(self) -> str:
        """What it waits for: `2 GPUs`, `1 GPU`, `cpu`, `cpu×4`, or Slurm's `slurm 1×2`."""
        if self.request.slurm is not None:
            return f"slurm {self.request.slurm.label()}"
        if self.gpus:
            return f"{self.gpus} GPU{'s' if self.gpus > 1 else ''}"
        return self.request.gpus_label()


def queue_dir(save_dir: Path) -> Path:
    return Path(save_dir) / QUEUE_DIR


@contextmanager
def edit_lock(save_dir: Path) -> Iterator[None]:
    """The queue's short lock: held while a position is given, a run moved or removed, or launched."""
    path = queue_dir(save_dir)
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / EDIT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# ---- the request as JSON ----

def request_record(request: LaunchRequest, gpus: int, workdir: Path | None = None) -> dict[str, Any]:
    """The `request` of a `queued` block; paths absolute, so the runner needs no working directory."""
    return {"config": str(request.config.resolve()), "name": request.name,
            "save_dir": str(request.save_dir.resolve()), "gpus": gpus, "cpu_processes": request.cpu_processes,
            "overrides": list(request.overrides),
            "slurm": asdict(request.slurm) if request.slurm is not None else None,
            "workdir": str((workdir or Path.cwd()).resolve())}


def queued_run(run_dir: Path, block: dict[str, Any]) -> QueuedRun:
    """A `queued` block read back and checked as the launch dialog checks what it is given (a tampered
    file must not choose what runs): ValueError names the first field that is wrong. The run's name and
    save dir are its directory's, whatever the block says."""
    position, queued_at = block.get("position"), block.get("queued_at")
    if not isinstance(position, (int, float)) or isinstance(position, bool):
        raise ValueError(f"position: expected a number, got {position!r}")
    if not isinstance(queued_at, (int, float)) or isinstance(queued_at, bool):
        raise ValueError(f"queued_at: expected a time, got {queued_at!r}")
    record = block.get("request")
    if not isinstance(record, dict):
        raise ValueError("request: expected an object")
    config, overrides = record.get("config"), record.get("overrides") or []
    if not isinstance(config, str) or not config:
        raise ValueError(f"request.config: expected a path, got {config!r}")
    if not isinstance(overrides, list) or not all(isinstance(o, str) and _OVERRIDE.fullmatch(o)
                                                  for o in overrides):
        raise ValueError("request.overrides: expected a list of key.path=value")
    gpus, cpus = record.get("gpus", 0), record.get("cpu_processes", 1)
    if not _count(gpus, 0):
        raise ValueError(f"request.gpus: expected a number of GPUs, got {gpus!r}")
    if not _count(cpus, 1):
        raise ValueError(f"request.cpu_processes: expected a number ≥ 1, got {cpus!r}")
    slurm = spec_from_record(record["slurm"]) if record.get("slurm") is not None else None
    workdir = record.get("workdir")
    request = LaunchRequest(Path(config), run_dir.name, run_dir.parent, (), cpus, tuple(overrides), slurm)
    return QueuedRun(run_dir, float(position), float(queued_at), request, gpus,
                     Path(workdir) if isinstance(workdir, str) and workdir else None)


def _count(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


# ---- queue, list, move, remove, pause ----

def queue(request: LaunchRequest, gpus: int | None = None, now: float | None = None,
          workdir: Path | None = None, extra: dict[str, Any] | None = None,
          adopt_empty: bool = False) -> QueuedRun:
    """Reserve `save_dir/name` and write its `queued` block (`gpus`: how many it wants, default the
    request's count; `workdir`: where it runs, default here; `extra`: more fields of the block, such as
    a sweep's `sweep` and `trial`), last in the queue. With `adopt_empty`, an existing directory that
    holds nothing is taken as reserved (a sweep's trial whose queuing was cut between its mkdir and its
    `run.json`: the name is the trial's own). LaunchError when the name is taken or invalid; no
    directory is left behind then."""
    wanted = len(request.gpus) if gpus is None else gpus
    now = time.time() if now is None else now
    save_dir = request.save_dir
    with edit_lock(save_dir):
        position = _next_position(save_dir)
        run_dir = _reserve(save_dir, request.name, adopt_empty)
        block = {"position": position, "queued_at": now,
                 "request": request_record(request, wanted, workdir), **(extra or {})}
        try:
            write_run_json(run_dir, {"queued": block})
        except OSError as exc:
            _remove_reserved(run_dir)
            raise LaunchError(f"{run_dir / RUN_JSON}: cannot write ({exc.strerror or exc})") from None
    return queued_run(run_dir, block)


def _reserve(save_dir: Path, name: str, adopt_empty: bool) -> Path:
    try:
        return reserve_run_dir(save_dir, name)
    except (RunDirError, OSError) as exc:
        run_dir = Path(save_dir) / name
        if adopt_empty and _empty_dir(run_dir):
            return run_dir
        raise LaunchError(str(exc)) from None


def _empty_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    except OSError:
        return False


def _next_position(save_dir: Path) -> int:
    """One past the last position ever given (kept in `.queue/last-position`; the queue's largest when
    that file is missing or damaged). Called under the edit lock."""
    path = queue_dir(save_dir) / LAST_POSITION
    try:
        last = int(path.read_text().strip())
    except (OSError, ValueError):
        last = int(max((r.position for r in queued_runs(save_dir)), default=0))
    write_atomic(path, f"{last + 1}\n")
    return last + 1


def _remove_reserved(run_dir: Path) -> None:
    for path in run_dir.iterdir():
        path.unlink(missing_ok=True)
    run_dir.rmdir()


class QueueScan:
    """The save dir's `run.json` files, read again only when they change: the queued runs in order, and
    every launch record (the runner's free-device count needs the live ones). A save dir whose mtime is
    unchanged costs one `stat`; a changed one a `stat` per run and a read per changed `run.json`."""

    def __init__(self, save_dir: Path) -> None:
        self.save_dir = Path(save_dir)
        self.records: dict[str, dict[str, Any]] = {}
        """name → its `run.json` object (runs without a readable one are absent)."""
        self.invalid: dict[str, str] = {}
        """name → why its `queued` block cannot be used (the runner marks such runs failed)."""
        self._queued: dict[str, QueuedRun] = {}
        self._stamps: dict[str, tuple[int, int, int] | None] = {}
        self._dir_mtime: int | None = None
        self._scanned_at = 0.0

    def refresh(self) -> set[str]:
        """Read what changed; the names whose `run.json` changed (new, rewritten or gone)."""
        dir_mtime = mtime_ns(self.save_dir)
        if dir_mtime == self._dir_mtime and not _recent(dir_mtime) \
                and time.monotonic() - self._scanned_at < RESCAN_S:
            return set()
        self._dir_mtime, self._scanned_at = dir_mtime, time.monotonic()
        names = run_dir_names(self.save_dir)
        changed = set(self._stamps) - set(names)
        for name in changed:
            self._forget(name)
        for name in names:
            stamp = _stamp(self.save_dir / name / RUN_JSON)
            if name not in self._stamps or stamp != self._stamps[name]:
                self._stamps[name] = stamp
                self._read(name)
                changed.add(name)
        return changed

    def reread(self, name: str) -> None:
        """Read one run's `run.json` now (the runner has just launched it)."""
        self._stamps[name] = _stamp(self.save_dir / name / RUN_JSON)
        self._read(name)

    def queued(self) -> list[QueuedRun]:
        return sorted(self._queued.values(), key=QueuedRun.order)

    def _read(self, name: str) -> None:
        self._forget(name, keep_mtime=True)
        record = read_json(self.save_dir / name / RUN_JSON)
        if record is None:
            return
        self.records[name] = record
        block = queued_block(record)
        if block is None or block.get("error"):
            return
        try:
            self._queued[name] = queued_run(self.save_dir / name, block)
        except ValueError as exc:
            self.invalid[name] = str(exc)

    def _forget(self, name: str, keep_mtime: bool = False) -> None:
        self.records.pop(name, None)
        self.invalid.pop(name, None)
        self._queued.pop(name, None)
        if not keep_mtime:
            self._stamps.pop(name, None)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime, size): every atomic rewrite gets a new inode, so two writes within one tick of a
    coarse file-system clock still differ."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _recent(mtime: int | None) -> bool:
    """An mtime this close to now may hide a later change within the same coarse clock tick (ext4's
    is a few ms): look again rather than trust it."""
    return mtime is not None and time.time_ns() - mtime < 1_000_000_000


def queued_runs(save_dir: Path) -> list[QueuedRun]:
    """The runs waiting in the queue, first first; a `run.json` that cannot be read or used is no
    queued run."""
    scan = QueueScan(save_dir)
    scan.refresh()
    return scan.queued()


def still_queued(run_dir: Path) -> QueuedRun | None:
    """The run as `run.json` says now, if it still waits in the queue (under the edit lock: final)."""
    block = queued_block(read_json(run_dir / RUN_JSON))
    if block is None or block.get("error"):
        return None
    try:
        return queued_run(run_dir, block)
    except ValueError:
        return None


def remove(save_dir: Path, name: str, now: float | None = None) -> TrashEntry:
    """Take a queued run out of the queue: its directory goes to the trash like a delete (`u` undoes:
    it is queued again, and waits for the next runner). LaunchError when it no longer waits (its
    runner launched it meanwhile); `tidy.TidyError` when the move fails."""
    with edit_lock(save_dir):
        if still_queued(Path(save_dir) / name) is None:
            raise LaunchError(f"'{name}' is not in the queue (launched or removed meanwhile)")
        return trash_run(Path(save_dir), name, now)


def move(save_dir: Path, name: str, delta: int) -> int:
    """Move a queued run `delta` places (negative: towards the front); its new place, 1 first. The
    queue is numbered 1, 2, … again, rewriting only the runs whose position changes."""
    with edit_lock(save_dir):
        runs = queued_runs(save_dir)
        index = next((i for i, r in enumerate(runs) if r.name == name), None)
        if index is None:
            raise LaunchError(f"'{name}' is not in the queue (launched or removed meanwhile)")
        run = runs.pop(index)
        place = max(0, min(len(runs), index + delta))
        runs.insert(place, run)
        for position, r in enumerate(runs, start=1):
            if r.position != position:
                _set_position(r.run_dir, position)
    return place + 1


def _set_position(run_dir: Path, position: int) -> None:
    record = read_json(run_dir / RUN_JSON)
    block = queued_block(record)
    if record is not None and block is not None:
        write_run_json(run_dir, {**record, "queued": {**block, "position": position}})


def mark_failed(run_dir: Path, reason: str) -> None:
    """The runner could not launch this run (its request is damaged, its backend refused it): it leaves
    the queue as `failed`, the reason in its `queued` block."""
    record = read_json(run_dir / RUN_JSON)
    block = queued_block(record)
    if record is not None and block is not None:
        write_run_json(run_dir, {**record, "queued": {**block, "error": reason}})


def pause(save_dir: Path) -> None:
    """Pause the whole queue: the runner launches nothing until `resume` (what runs goes on)."""
    queue_dir(save_dir).mkdir(parents=True, exist_ok=True)
    (queue_dir(save_dir) / PAUSED).touch()


def resume(save_dir: Path) -> None:
    (queue_dir(save_dir) / PAUSED).unlink(missing_ok=True)


def paused(save_dir: Path) -> bool:
    return (queue_dir(save_dir) / PAUSED).exists()


def with_devices(run: QueuedRun, gpus: tuple[int, ...]) -> LaunchRequest:
    """The request the runner launches: the run's, on the GPUs it was given."""
    return replace(run.request, gpus=gpus)
