"""Checkpoint files, for both entries: written atomically, and tidied when a run resumes.

A checkpoint goes to a temporary file in its own directory, is flushed to the disk, then renamed over
the target (`os.replace`): a crash or a full disk never leaves a torn file, and no byte passes through
`$TMPDIR`, which may be another filesystem (where a rename becomes a copy that can be cut half-way). A
failed save removes its temporary file and leaves the previous checkpoint as it was; a process killed
while saving leaves one (`.<name>.<random>.tmp`), which the next start of the run removes.
Torch-only (no Lightning): the plain entry imports it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

TEMP_SUFFIX = ".tmp"
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: the mode a plainly created file would have
FILE_MODE = 0o666 & ~_UMASK


def save_atomic(obj: Any, path: Path) -> None:
    """`torch.save(obj)` to `path` through a temporary file beside it, fsynced, then `os.replace`d."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            WholeWrites(fd).save(obj)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class WholeWrites:
    """The file torch.save writes to: each write lands whole or fails with its OSError, which `save`
    raises. (Torch reports a failed or short write as a mismatched position, not as a full disk.)"""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.error: OSError | None = None

    def save(self, obj: Any) -> None:
        try:
            torch.save(obj, self)  # type: ignore[arg-type]  # all it uses of a file is `write`
        except Exception as exc:
            if self.error is None:
                raise
            raise self.error from exc

    def write(self, data: Any) -> int:
        view = whole = memoryview(data).cast("B")
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as exc:
            self.error = exc
            raise
        return len(whole)

    def flush(self) -> None:
        """Nothing is buffered."""


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def partial_saves(directory: Path) -> list[Path]:
    """The temporary files of saves that never finished (their process was killed while writing)."""
    return sorted(directory.glob(f".*{TEMP_SUFFIX}"))


def remove_stale(directory: Path, keep: Iterable[Path]) -> list[Path]:
    """Remove the checkpoints in `directory` a resumed run does not know of, and unfinished saves.

    A run resumes from the state in `last.ckpt`; a best checkpoint written after it (the process was
    killed between the two saves) belongs to training that is being done again, and would otherwise
    stay beside the one the resumed run writes, beyond `save_top_k`. Returns what was removed.
    """
    kept = {Path(p).resolve() for p in keep}
    stale = [p for p in sorted(directory.glob("*.ckpt")) if p.resolve() not in kept]
    removed = [*stale, *partial_saves(directory)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
