"""A first look at many run directories, folded in worker processes.

Folding a run's events is CPU-bound Python, so threads share one core. When a scan must read many runs
from scratch (a save dir seen for the first time, or a first `cfg.` filter, which parses every
config.yaml), the scanner hands them to `python -m tui.table.fold_workers` processes, one per usable core (at
most `MAX_WORKERS`). Each reads run directory paths on stdin and writes, a group at a time, the entries
the row cache holds for settled runs (name, `row_cache.Key`, `RunRow`), pickled. The scanner adopts
those rows as if cached and reads every other run (active, not a run, or one a worker failed on) itself.
Plain subprocesses rather than multiprocessing: a multiprocessing child imports the parent's
`__main__` (the TUI, Textual), where these import only the scanner's modules.
"""

from __future__ import annotations

import os
import pickle
import selectors
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tui.run.jobs import JobStates
from tui.run.status import SETTLED
from tui.table.row_cache import Key
from tui.table.rows import RunRow
from tui.table.scanner import RunTracker

MIN_DIRS = 2000
"""Below this many directories to read, starting processes costs more than it saves."""
MAX_WORKERS = 8
FLUSH_EVERY = 200
"""A worker writes its rows in groups this large, so the table fills while the rest are read."""
FRAME = struct.Struct("<I")

Entry = tuple[str, Key, RunRow]


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # a taskset or cgroup cpuset, not the machine's count
    except AttributeError:
        return os.cpu_count() or 1


class WorkerFold:
    """Workers started on construction, so they read while the caller does other work; iterating
    gives the settled runs' entries in groups as the workers write them. No workers for fewer than
    `MIN_DIRS` directories or one usable core; nothing more from a worker that cannot start or dies
    (the scanner reads those runs itself)."""

    def __init__(self, dirs: list[str], host: str, with_config: bool, workers: int | None = None) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        workers = min(MAX_WORKERS, workers or usable_cpus())
        if len(dirs) < MIN_DIRS or workers < 2:
            return
        import tempfile  # here: a small save dir's scan never needs it

        package_root = str(Path(__file__).resolve().parents[2])  # `tui` importable however it was found
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (package_root,
                                                                         os.environ.get("PYTHONPATH"))))}
        argv = [sys.executable, "-m", "tui.table.fold_workers", host, "config" if with_config else "events"]
        try:
            for i in range(workers):
                with tempfile.TemporaryFile() as paths:  # a file, not a pipe: feeding never blocks
                    paths.write(b"\0".join(os.fsencode(d) for d in dirs[i::workers]))  # NUL: never in a path
                    paths.seek(0)
                    self.procs.append(subprocess.Popen(argv, stdin=paths, stdout=subprocess.PIPE,
                                                       stderr=subprocess.DEVNULL, env=env,
                                                       start_new_session=True))
        except OSError:  # those that started still count
            pass

    def __iter__(self) -> Iterator[list[Entry]]:
        selector = selectors.DefaultSelector()
        try:
            for proc in self.procs:
                selector.register(proc.stdout, selectors.EVENT_READ, bytearray())  # type: ignore[arg-type]
            yield from _read_entries(selector)
        except OSError:  # a pipe broke: what arrived is kept
            return
        finally:
            selector.close()
            self.close()

    def kill(self) -> None:
        """End the workers now (the app quits mid-scan); safe from another thread: the reader sees
        their pipes close and `close` reaps them."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs = []


def _read_entries(selector: selectors.BaseSelector) -> Iterator[list[Entry]]:
    """The workers' frames (a 4-byte length, then a pickled list of entries) as they arrive."""
    while selector.get_map():
        for key, _ in selector.select():
            pending: bytearray = key.data
            data = os.read(key.fd, 1 << 20)
            if not data:
                selector.unregister(key.fileobj)
                continue
            pending += data
            while len(pending) >= FRAME.size and len(pending) >= FRAME.size + FRAME.unpack_from(pending)[0]:
                end = FRAME.size + FRAME.unpack_from(pending)[0]
                try:
                    entries = pickle.loads(pending[FRAME.size:end])  # our own child's output, never a file's
                except Exception:  # a damaged frame is dropped: the scanner reads those runs itself
                    entries = []
                del pending[:end]
                if entries:
                    yield entries


def main() -> None:
    """A worker: NUL-separated run directory paths on stdin; on stdout, frames of settled runs'
    entries."""
    host, with_config = sys.argv[1], sys.argv[2] == "config"
    jobs = JobStates()  # one `squeue` at most, and only if a Slurm run is among the directories
    out, entries = sys.stdout.buffer, []
    for i, run_dir in enumerate(map(os.fsdecode, sys.stdin.buffer.read().split(b"\0")), 1):
        if run_dir:
            try:
                tracker = RunTracker(run_dir)
                row = tracker.refresh(host, jobs, with_config)
                if row.status in SETTLED and tracker.key is not None:
                    entries.append((tracker.name, tracker.key, row))
            except Exception:  # the scanner reads this run itself and shows what is wrong with it
                pass
        if entries and (i % FLUSH_EVERY == 0):
            _write_frame(out, entries)
            entries = []
    if entries:
        _write_frame(out, entries)


def _write_frame(out: BinaryIO, entries: list[Entry]) -> None:
    data = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME.pack(len(data)) + data)
    out.flush()


if __name__ == "__main__":
    main()
