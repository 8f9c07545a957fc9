"""Reading a file that anybody may have put in a run or config directory, without being fooled by it.

A FIFO would block `open` until a writer comes, a directory raises, a link to `/dev/zero` never ends:
`read_regular` opens without blocking, refuses anything but a regular file and reads at most a cap.
Every reader of user-controlled files (configs, `run.json`, `meta.yaml`, event logs) goes through it.
Torch-free; imports only the standard library.
"""

from __future__ import annotations

import os
import stat

MAX_SMALL_FILE = 4 << 20
"""The cap for files that are small by nature (a config, `run.json`, `meta.yaml`): 4 MiB."""


class NotRegularFile(OSError):
    """The path is a FIFO, a directory, a device or a socket, or its size is over the cap."""


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of `path`, which must be a regular file; never blocks (O_NONBLOCK makes
    opening a FIFO return at once, and the type check then refuses it). The caller closes it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{os.fspath(path)}: not a regular file ({_kind(mode)})")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | os.PathLike[str], limit: int = MAX_SMALL_FILE) -> bytes:
    """The whole content of a regular file of at most `limit` bytes; NotRegularFile (an OSError)
    for anything else, FileNotFoundError and other OSErrors as `open` raises them."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, min(size, limit) + 1)  # `read(n)` allocates n bytes: the file's size, not the cap
        while size < len(data) <= limit:  # more than `stat` said (a growing file, /proc): on to the cap
            more = os.read(fd, limit + 1 - len(data))
            if not more:
                break
            data += more
    finally:
        os.close(fd)
    if len(data) > limit:
        raise NotRegularFile(f"{os.fspath(path)}: larger than {limit:,} bytes")
    return data


def read_regular_text(path: str | os.PathLike[str], limit: int = MAX_SMALL_FILE) -> str:
    """`read_regular` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_regular(path, limit).decode("utf-8")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def reason(exc: OSError) -> str:
    """Why a read failed, without the path (the caller names the file in its own words):
    `not a regular file (a FIFO)`, `larger than 4,194,304 bytes`, `Permission denied`."""
    if isinstance(exc, NotRegularFile):
        return str(exc).rsplit(": ", 1)[-1]
    return exc.strerror or exc.__class__.__name__


def open_if_changed(path: str | os.PathLike[str], known_size: int | None) -> int | None:
    """`open_regular(path)`, or None without opening anything when `path` is a regular file of
    `known_size` bytes: a tailer's idle tick costs one `stat`."""
    seen = os.stat(path)
    if stat.S_ISREG(seen.st_mode) and seen.st_size == known_size:
        return None
    return open_regular(path)
