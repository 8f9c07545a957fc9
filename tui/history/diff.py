"""What differs between two runs: their resolved configs key by key, their code snapshots file by file,
and their git state and versions.

Each function returns plain rows that the diff screen only colours. Reads are bounded (a file over
`MAX_FILE_BYTES` is not diffed, the whole code diff stops at `MAX_DIFF_LINES`), so a large `src/`
costs a worker a moment and the UI nothing; only regular files are opened, without blocking
(`torchx.reading`), and whatever cannot be read becomes a note or a config error, never an exception.
Torch- and Textual-free.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from torchx.experiment import SRC_DIR
from torchx.reading import open_regular, read_regular, reason
from tui.run.files import first_start, flatten, load_run_config, read_json_object, reproduce

CHANGED, ADDED, REMOVED, SAME = "changed", "added", "removed", "same"
GIT_FILES = frozenset({"git.json", "git.diff"})
"""The snapshot's git record: compared on the git tab, not as code."""
MAX_FILE_BYTES = 1 << 20
MAX_GIT_DIFF_BYTES = 64 << 20
"""The uncommitted diff is hashed, not shown: a large one is still read, up to this."""
MAX_DIFF_LINES = 5000
NOT_SHOWN = "diff not shown"


@dataclass(frozen=True)
class KeyDiff:
    """One key path with its value in run A and in run B (None where the run lacks the key)."""

    key: str
    kind: str
    left: str | None
    right: str | None


def format_value(value: Any) -> str:
    """The value as it would be written in the YAML config (`'1'` for a string, `1` for a number)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


def diff_configs(a: dict[str, Any], b: dict[str, Any]) -> list[KeyDiff]:
    """Every key path of either config, sorted, with its kind of difference; values are compared as
    written, so `1` and `1.0` differ as they do in the files."""
    left = {key: format_value(value) for key, value in flatten(a).items()}
    right = {key: format_value(value) for key, value in flatten(b).items()}
    rows = []
    for key in sorted(left.keys() | right.keys()):
        x, y = left.get(key), right.get(key)
        kind = ADDED if x is None else REMOVED if y is None else SAME if x == y else CHANGED
        rows.append(KeyDiff(key, kind, x, y))
    return rows


@dataclass(frozen=True)
class FileDiff:
    """One file of `src/` that differs: its unified diff, or a note (added, binary, too large)."""

    path: str
    kind: str
    lines: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class SrcDiff:
    files: tuple[FileDiff, ...]
    same: int
    missing: tuple[str, ...]
    """Runs (A, B) without a `src/` snapshot."""
    truncated: bool


def src_files(src: Path) -> dict[str, Path]:
    """Every file of a code snapshot by its path relative to `src/` (git record and caches excluded)."""
    found: dict[str, Path] = {}
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in files:
            path = Path(root) / name
            rel = path.relative_to(src).as_posix()
            if rel not in GIT_FILES and not name.endswith(".pyc"):
                found[rel] = path
    return found


def diff_src(a_dir: Path, b_dir: Path) -> SrcDiff:
    """The code snapshots of two runs compared file by file, a unified diff per changed text file."""
    a_src, b_src = a_dir / SRC_DIR, b_dir / SRC_DIR
    missing = tuple(d.name for d in (a_dir, b_dir) if not os.path.isdir(d / SRC_DIR))  # unreadable: missing
    a_files, b_files = src_files(a_src), src_files(b_src)
    files: list[FileDiff] = []
    same, budget = 0, MAX_DIFF_LINES
    for rel in sorted(a_files.keys() | b_files.keys()):
        if rel not in b_files:
            files.append(FileDiff(rel, REMOVED))
        elif rel not in a_files:
            files.append(FileDiff(rel, ADDED))
        else:
            diff = _file_diff(rel, a_files[rel], b_files[rel], budget)
            if diff is None:
                same += 1
            else:
                files.append(diff)
                budget -= len(diff.lines)
    truncated = any(f.note.startswith(NOT_SHOWN) for f in files)
    return SrcDiff(tuple(files), same, missing, truncated)


def _file_diff(rel: str, a: Path, b: Path, budget: int) -> FileDiff | None:
    """None when the files are equal; else their diff, or a note when it cannot or may not be shown."""
    try:
        a_size, b_size = a.stat().st_size, b.stat().st_size
        if max(a_size, b_size) > MAX_FILE_BYTES:
            if a_size == b_size and _same_bytes(a, b):
                return None
            return FileDiff(rel, CHANGED, note=f"not diffed: over {MAX_FILE_BYTES >> 20} MiB")
        a_bytes, b_bytes = read_regular(a, MAX_FILE_BYTES), read_regular(b, MAX_FILE_BYTES)
    except OSError as exc:
        return FileDiff(rel, CHANGED, note=f"unreadable: {reason(exc)}")
    if a_bytes == b_bytes:
        return None
    a_text, b_text = _text(a_bytes), _text(b_bytes)
    if a_text is None or b_text is None:
        return FileDiff(rel, CHANGED, note="binary files differ")
    if budget <= 0:
        return FileDiff(rel, CHANGED, note=f"{NOT_SHOWN}: over {MAX_DIFF_LINES} lines in all")
    lines = difflib.unified_diff(a_text.splitlines(), b_text.splitlines(), f"A/{rel}", f"B/{rel}",
                                 lineterm="")
    return FileDiff(rel, CHANGED, tuple(lines))


def _same_bytes(a: Path, b: Path, block: int = 1 << 20) -> bool:
    with os.fdopen(open_regular(a), "rb") as fa, os.fdopen(open_regular(b), "rb") as fb:
        while True:
            x, y = fa.read(block), fb.read(block)
            if x != y:
                return False
            if not x:
                return True


def _text(data: bytes) -> str | None:
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def git_rows(a_dir: Path, b_dir: Path) -> list[KeyDiff]:
    """Commit, dirty flag, uncommitted changes, launch command, host and versions of both runs."""
    a, b = _git_facts(a_dir), _git_facts(b_dir)
    rows = []
    for field in a:
        x, y = a[field], b[field]
        rows.append(KeyDiff(field, SAME if x == y else CHANGED, x, y))
    return rows


def _git_facts(run_dir: Path) -> dict[str, str]:
    start = first_start(run_dir)
    card = reproduce(run_dir, start.get("argv"), start.get("entry"))
    record = read_json_object(run_dir / SRC_DIR / "git.json")[0] or {}
    status = record.get("status")
    changed = len(status.splitlines()) if isinstance(status, str) else None
    versions = start.get("versions")
    if not isinstance(versions, dict):
        versions = {}
    facts = {
        "commit": card.commit or "(no git record)",
        "dirty": {True: "yes", False: "no", None: "?"}[card.dirty],
        "uncommitted files": "?" if changed is None else str(changed),
        "uncommitted diff": _diff_digest(run_dir / SRC_DIR / "git.diff"),
        "command": card.command or "(unknown)",
        "host": str(start.get("host") or "?"),
    }
    for name in ("python", "torch", "lightning"):
        facts[name] = str(versions.get(name) or "?")
    return facts


def _diff_digest(path: Path) -> str:
    """`none`, or the size of the uncommitted diff and a short hash (equal hashes: the same changes)."""
    try:
        data = read_regular(path, MAX_GIT_DIFF_BYTES)
    except OSError:
        return "?"
    if not data.strip():
        return "none"
    lines = data.count(b"\n")
    return f"{lines} lines, sha1 {hashlib.sha1(data).hexdigest()[:10]}"  # noqa: S324 - not security


@dataclass(frozen=True)
class RunsDiff:
    """Run A (the older) against run B: config rows (or why there are none), code and git."""

    a: str
    b: str
    config: tuple[KeyDiff, ...]
    config_error: str | None
    src: SrcDiff
    git: tuple[KeyDiff, ...]


def diff_runs(a_dir: Path, b_dir: Path) -> RunsDiff:
    (a_config, a_error), (b_config, b_error) = load_run_config(a_dir), load_run_config(b_dir)
    rows: list[KeyDiff] = []
    if a_config is not None and b_config is not None:
        try:
            rows = diff_configs(a_config, b_config)
        except ValueError as exc:  # more keys than `flatten` gives (an alias bomb)
            a_error = f"config.yaml: {exc}"
    error = "; ".join(e for e in (a_error, b_error) if e) or None
    return RunsDiff(a_dir.name, b_dir.name, tuple(rows), error, diff_src(a_dir, b_dir),
                    tuple(git_rows(a_dir, b_dir)))
