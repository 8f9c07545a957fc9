"""Tidy the save dir: how much a run takes on disk, and deletes that can be undone.

A delete never removes anything: it writes a manifest (`<entry>.json`) saying what it moves, then renames
the run directory (or its prunable checkpoints) into `save/.trash/<name>-<YYYYmmdd-HHMMSS>/` — one atomic
rename on the save dir's filesystem — so `restore` always finds what moved (a manifest whose entry never
arrived is skipped). File-system failures are `TidyError`s naming the path. Only `empty_trash` frees the
space. The scanner skips `.trash` (hidden directories are not runs). Nothing here touches a path that
does not resolve inside the save dir, links followed: a linked `ckpt/` or `.trash`, or a tampered
manifest, is refused, never followed out.
Torch- and Textual-free; the TUI calls these from worker threads.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from torchx.events import EVENTS_FILE, EventReader
from torchx.experiment import CKPT_DIR, LAST_CKPT, read_json, validate_run_name, write_json_atomic
from tui.run.files import checkpoint_spec, checkpoints, monitor_of, read_config

TRASH_DIR = ".trash"


class TidyError(Exception):
    """A delete, restore or empty that could not be done, with a one-line reason."""


@dataclass(frozen=True)
class CheckpointFile:
    name: str
    size: int
    keep: str
    """Why it stays when checkpoints are pruned: "last", "best", "unknown" (no event says what it is),
    or "" (prunable)."""


@dataclass(frozen=True)
class RunSize:
    total: int
    ckpt: int
    files: tuple[CheckpointFile, ...]

    @property
    def prunable(self) -> tuple[CheckpointFile, ...]:
        return tuple(f for f in self.files if not f.keep)


@dataclass(frozen=True)
class TrashEntry:
    path: Path
    run: str
    kind: str
    """"run" (the whole directory) or "checkpoints" (files of the run's `ckpt/`)."""
    deleted_at: float
    files: tuple[str, ...] = ()


def dir_size(path: Path) -> int:
    """Bytes of every file under `path`, links not followed."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def run_size(run_dir: Path) -> RunSize:
    """The run's size, its checkpoints' size, and which checkpoints a prune keeps (`checkpoint_files`)."""
    files = checkpoint_files(run_dir)
    return RunSize(dir_size(run_dir), sum(f.size for f in files), files)


def prunable(run_dir: Path) -> tuple[CheckpointFile, ...]:
    """The checkpoints a prune moves to the trash; looks at `ckpt/` only, not the whole run directory."""
    return tuple(f for f in checkpoint_files(run_dir) if not f.keep)


def checkpoint_files(run_dir: Path) -> tuple[CheckpointFile, ...]:
    """The run's checkpoints, prunable last, with what a prune keeps: `last.ckpt`, the best `save_top_k`
    by the config's monitor and mode, and any file no `ckpt` event describes."""
    ckpt_events: dict[str, dict[str, Any]] = {}
    for event in EventReader(run_dir / EVENTS_FILE, last_step_only=True).iter_new():
        if event.get("event") == "ckpt" and isinstance(event.get("path"), str):
            ckpt_events[event["path"]] = event
    found = checkpoints(run_dir, ckpt_events)
    spec = checkpoint_spec(read_config(run_dir))
    monitor, mode = monitor_of(spec)
    ranked = sorted((c for c in found if c.name != LAST_CKPT and c.monitor and c.monitor == monitor
                     and c.value is not None),  # last.ckpt may carry the same value: it is kept anyway
                    key=lambda c: c.value or 0.0, reverse=mode == "max")
    top_k = spec.get("save_top_k", 1)
    top_k = top_k if isinstance(top_k, int) and not isinstance(top_k, bool) else 1
    best = {c.name for c in (ranked if top_k < 0 else ranked[:top_k])}
    files = []
    for c in found:
        described = f"{CKPT_DIR}/{c.name}" in ckpt_events
        keep = ("last" if c.name == LAST_CKPT else "best" if c.name in best
                else "" if described else "unknown")
        files.append(CheckpointFile(c.name, c.size, keep))
    return tuple(sorted(files, key=lambda f: (f.keep == "", f.name)))


def trash_run(save_dir: Path, name: str, now: float | None = None) -> TrashEntry:
    """Move the whole run directory into the trash (the caller has checked that nothing runs there)."""
    source = save_dir / name
    what = f"cannot delete '{name}'"
    _check_name(name, what)
    if not source.is_dir():
        raise TidyError(f"{what}: {source} is not a directory")
    entry = _new_entry(save_dir, name, now, what)
    _write_manifest(entry, what)
    try:
        _rename(source, entry.path, what)
    except TidyError:
        _forget_unmoved(entry)
        raise
    return entry


def trash_checkpoints(save_dir: Path, name: str, files: list[str], now: float | None = None) -> TrashEntry:
    """Move the given files of the run's `ckpt/` into one trash entry."""
    if not files:
        raise TidyError(f"'{name}' has no checkpoint to prune (last.ckpt and the best are kept)")
    what = f"cannot prune '{name}'"
    _check_name(name, what)
    ckpt_dir = save_dir / name / CKPT_DIR
    for file in files:
        _check_inside(ckpt_dir / file, save_dir, what)
    entry = _new_entry(save_dir, name, now, what, kind="checkpoints", files=tuple(files))
    with _os_errors(what):
        entry.path.mkdir()
    _write_manifest(entry, what)
    moved: list[str] = []
    for file in files:
        try:
            _rename(ckpt_dir / file, entry.path / file, what)
        except TidyError:
            _forget_unmoved(replace(entry, files=tuple(moved)))
            raise
        moved.append(file)
    return entry


def trash_entries(save_dir: Path) -> list[TrashEntry]:
    """Every entry of the trash with a readable manifest, newest first."""
    entries: list[TrashEntry] = []
    trash = save_dir / TRASH_DIR
    if trash.is_symlink():
        return entries
    for manifest in trash.glob("*.json"):
        data = read_json(manifest)
        path = manifest.parent / manifest.name.removesuffix(".json")
        if not data or not path.is_dir():
            continue
        entries.append(TrashEntry(path, str(data.get("run")), str(data.get("kind")),
                                  float(data.get("deleted_at") or 0.0), tuple(data.get("files") or ())))
    return sorted(entries, key=lambda e: -e.deleted_at)


def restore(save_dir: Path, entry: TrashEntry) -> str:
    """Put an entry back where it was; refuses to overwrite anything. Returns what was done."""
    what = f"cannot restore '{entry.run}'"
    _check_name(entry.run, what)
    if not all(_plain(f) for f in entry.files):
        raise TidyError(f"{what}: its manifest lists a path, not a file name")
    target = save_dir / entry.run
    _check_inside(target, save_dir, what)
    if entry.kind == "run":
        if target.exists():
            raise TidyError(f"cannot restore '{entry.run}': {target} exists")
        _rename(entry.path, target, f"cannot restore '{entry.run}'")
        done = f"restored run '{entry.run}'"
    else:
        ckpt_dir = target / CKPT_DIR
        for file in entry.files:
            _check_inside(ckpt_dir / file, save_dir, what)
        if not ckpt_dir.is_dir():
            raise TidyError(f"cannot restore checkpoints of '{entry.run}': {ckpt_dir} is gone")
        files = [f for f in entry.files if (entry.path / f).exists()]
        clash = [f for f in files if (ckpt_dir / f).exists()]
        if clash:
            raise TidyError(f"cannot restore checkpoints of '{entry.run}': {ckpt_dir / clash[0]} exists")
        for file in files:
            _rename(entry.path / file, ckpt_dir / file, f"cannot restore '{entry.run}'")
        done = f"restored {len(files)} checkpoint(s) of '{entry.run}'"
    with _os_errors(f"restored '{entry.run}' but cannot remove its trash entry"):
        _discard(entry)
    return done


def trash_size(save_dir: Path) -> tuple[int, int]:
    """(entries, bytes) in the trash."""
    return len(trash_entries(save_dir)), dir_size(save_dir / TRASH_DIR)


def empty_trash(save_dir: Path) -> tuple[int, int]:
    """Delete the trash for good; (entries, bytes) freed."""
    _trash_dir(save_dir, "cannot empty the trash")
    count, size = trash_size(save_dir)
    shutil.rmtree(save_dir / TRASH_DIR, ignore_errors=True)
    if (save_dir / TRASH_DIR).exists():
        raise TidyError(f"could not delete all of {save_dir / TRASH_DIR}")
    return count, size


def _new_entry(save_dir: Path, name: str, now: float | None, what: str, kind: str = "run",
               files: tuple[str, ...] = ()) -> TrashEntry:
    now = time.time() if now is None else now
    trash = _trash_dir(save_dir, what, create=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base = f"{name}-{stamp}" + ("-ckpt" if kind == "checkpoints" else "")
    path, n = trash / base, 1
    while path.exists() or _manifest(path).exists():
        n += 1
        path = trash / f"{base}-{n}"
    return TrashEntry(path, name, kind, now, files)


def _manifest(entry_path: Path) -> Path:
    return entry_path.parent / f"{entry_path.name}.json"  # not with_suffix: run names may hold dots


def _write_manifest(entry: TrashEntry, what: str) -> None:
    with _os_errors(what):
        write_json_atomic(_manifest(entry.path), {
            "run": entry.run, "kind": entry.kind, "deleted_at": entry.deleted_at, "files": list(entry.files)})


def _forget_unmoved(entry: TrashEntry) -> None:
    """After a failed move, the manifest lists only what moved, or goes with its empty entry. Best effort:
    the move's own error is the one to report, and `restore` skips listed files that are not there."""
    with suppress(TidyError, OSError):
        if entry.files:
            _write_manifest(entry, "")
        else:
            _discard(entry)


def _discard(entry: TrashEntry) -> None:
    """Remove an emptied entry directory (a whole-run entry was renamed away already) and its manifest."""
    if entry.kind != "run":
        entry.path.rmdir()
    _manifest(entry.path).unlink(missing_ok=True)


def _rename(source: Path, target: Path, what: str) -> None:
    with _os_errors(what):
        os.rename(source, target)


@contextmanager
def _os_errors(what: str) -> Iterator[None]:
    """File-system failures as a one-line TidyError naming the path, for the TUI to report."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise TidyError(f"{what}: {exc.strerror or exc}{where}") from None


def _trash_dir(save_dir: Path, what: str, create: bool = False) -> Path:
    """`save/.trash`, a real directory of the save dir (never a link that would send runs elsewhere)."""
    trash = save_dir / TRASH_DIR
    if trash.is_symlink():
        raise TidyError(f"{what}: {trash} is a link; the trash must be a directory of the save dir")
    if create:
        with _os_errors(what):
            trash.mkdir(exist_ok=True)
    return trash


def _check_name(name: str, what: str) -> None:
    problem = validate_run_name(name)
    if problem:
        raise TidyError(f"{what}: {problem}")


def _plain(file: str) -> bool:
    """A file name, not a path: what a manifest may list and a prune may move."""
    return bool(file) and file not in (".", "..") and "/" not in file and "\\" not in file


def _check_inside(path: Path, root: Path, what: str) -> None:
    """`path` is a plain name in a directory that, links resolved, lies under `root` (resolved too):
    moving it moves that entry (a link itself, if it is one), never anything outside."""
    if not _plain(path.name):
        raise TidyError(f"{what}: {path.name!r} is not a file name")
    real, real_root = os.path.realpath(path.parent), os.path.realpath(root)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise TidyError(f"{what}: {path.parent} leads outside {root} (a link); nothing was moved")
