"""Rows of settled runs kept between TUI sessions, so a save dir with thousands of runs fills at once.

A row is reused only while its directory, `events.jsonl`, `run.json`, `config.yaml` and `meta.yaml`
have the same size and mtimes as when it was cached; anything else is read from the files as usual.
The cache lives in the user's cache dir (one file per save dir) and is written atomically.
Torch- and Textual-free.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from torchx.events import EVENTS_FILE
from torchx.experiment import CONFIG_FILE, META_FILE, RUN_JSON, write_atomic
from torchx.reading import read_regular
from tui.run.files import mtime_ns
from tui.table.rows import RunRow

LAYOUT = 3
MAX_BYTES = 1 << 30
"""Far beyond 10,000 rows with their configs: a cache file larger than this is not one of ours."""
"""The cache file's own layout; a row's is `RunRow`'s fields, which `VERSION` follows by itself."""


def schema_version(row_type: type) -> str:
    """The cache version for rows of `row_type`: a field added, removed, renamed or retyped changes it,
    so a cache written before the change is dropped instead of showing defaults for every cached run."""
    fields = [(f.name, str(f.type)) for f in dataclasses.fields(row_type)]
    return f"{LAYOUT}-{hashlib.sha1(repr(fields).encode()).hexdigest()[:12]}"


VERSION = schema_version(RunRow)
Key = tuple[int | None, int | None, int | None, int | None, int | None, int | None]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "torchx-tui"


def cache_file(cache_dir: Path, save_dir: Path) -> Path:
    digest = hashlib.sha1(str(save_dir.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"rows-{digest}.json"


def file_key(run_dir: str) -> Key:
    """(dir mtime, events.jsonl size, its mtime, run.json, config.yaml and meta.yaml mtimes) in
    nanoseconds, None for a missing one: one `stat` each."""
    try:
        d = os.stat(run_dir).st_mtime_ns
    except OSError:
        d = None
    size: int | None
    mtime: int | None
    try:
        e = os.stat(os.path.join(run_dir, EVENTS_FILE))
        size, mtime = e.st_size, e.st_mtime_ns
    except OSError:
        size = mtime = None
    r, c, m = (mtime_ns(os.path.join(run_dir, name)) for name in (RUN_JSON, CONFIG_FILE, META_FILE))
    return (d, size, mtime, r, c, m)


def load(path: Path) -> dict[str, tuple[Key, dict[str, Any]]]:
    """name → (key, row fields); empty when missing, damaged or of another version."""
    try:
        data = json.loads(read_regular(path, MAX_BYTES))
        if data.get("version") != VERSION:
            return {}
        return {name: (tuple(entry["key"]), entry["row"]) for name, entry in data["rows"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def save(path: Path, rows: dict[str, tuple[Key, Any]]) -> None:
    """rows: name → (key, RunRow); best effort (a read-only cache dir is not an error)."""
    payload = {"version": VERSION,
               "rows": {name: {"key": list(key), "row": vars(row)} for name, (key, row) in rows.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(payload, separators=(",", ":")))
    except OSError:
        pass
