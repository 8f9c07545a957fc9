"""The experiment directory `save/<name>/`: its file names, reserving it, snapshotting code into it,
writing and reading its small JSON files atomically.

Torch-free: the TUI imports this module. The layout is the contract of ARCHITECTURE.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from torchx.errors import UserError
from torchx.reading import read_regular

CONFIG_FILE = "config.yaml"
EVENTS_FILE = "events.jsonl"
LOG_FILE = "log.txt"
RUN_JSON = "run.json"
ENV_RUN_DIR = "TORCHX_RUN_DIR"  # set for every process of a run: ranks and workers find their run
ENV_RESERVATION = "TORCHX_RESERVATION"
"""The token of a launcher's reservation (also in its `run.json`), given to the one child it starts:
only that child adopts the reserved directory."""
RESERVATION_WAIT_S = 30.0
"""How long a child waits for its launcher to write `run.json` (the launcher writes it right after the
spawn, since it records the child's pid)."""
STDOUT_FILE = "stdout.log"
CKPT_DIR = "ckpt"
LAST_CKPT = "last.ckpt"
SRC_DIR = "src"
TB_DIR = "tb"
SLURM_SCRIPT = "slurm.sbatch"
META_FILE = "meta.yaml"  # the user's note and tags, written by the TUI (never by the trainer)
# Files a launcher may put in a reserved directory before the trainer starts (and Slurm's output files).
LAUNCHER_FILES = frozenset({RUN_JSON, STDOUT_FILE, SLURM_SCRIPT, META_FILE})
LAUNCHER_PATTERNS = ("slurm-*.out", ".run.json.*")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]*$")


class RunDirError(UserError):
    """A run name or directory problem, with a one-line message for the user."""


def validate_run_name(name: str) -> str | None:
    """Return why `name` cannot be a run name, or None if it can."""
    if not name:
        return "run name is empty"
    if "/" in name or "\\" in name or ".." in name:
        return f"run name {name!r} must not contain '/', '\\' or '..'"
    if len(name) > 200:
        return f"run name {name!r} is longer than 200 characters"
    if not _NAME_RE.fullmatch(name):  # `match` with `$` would accept a trailing newline
        return f"run name {name!r} may use only letters, digits and . _ + = - (not starting with . or -)"
    return None


def default_run_name(config_path: str | os.PathLike[str], now: float | None = None) -> str:
    """`<config-stem>-<YYYYmmdd-HHMMSS>`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{Path(config_path).stem}-{stamp}"


def reserve_run_dir(save_dir: str | os.PathLike[str], name: str) -> Path:
    """Create `save_dir/name` atomically: two launchers can never both get the same name."""
    problem = validate_run_name(name)
    if problem:
        raise RunDirError(problem)
    run_dir = Path(save_dir) / name
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    try:
        run_dir.mkdir()
    except FileExistsError:
        raise RunDirError(
            f"run '{name}' already exists in {save_dir} (use --resume {name} or another --name)"
        ) from None
    return run_dir


def claim_run_dir(save_dir: str | os.PathLike[str], name: str, token: str | None = None,
                  wait_s: float = RESERVATION_WAIT_S) -> Path:
    """Take `save_dir/name` for a new run: reserve it atomically, or adopt the directory a launcher
    reserved for this very process (`token` equals its `run.json`'s). Anything else that exists is
    refused, so a command-line run never takes over a reservation and two claimants never share one."""
    run_dir = Path(save_dir) / name
    if not token or not run_dir.is_dir():
        return reserve_run_dir(save_dir, name)
    taken = RunDirError(f"run '{name}' already exists in {save_dir} (use --resume {name} or another --name)")
    if not _reserved_for(run_dir, token, wait_s) or not is_reserved_only(run_dir):
        raise taken
    try:
        (run_dir / SRC_DIR).mkdir()  # the adoption itself, atomic: a second claimant finds it made
    except FileExistsError:
        raise taken from None
    return run_dir


def _reserved_for(run_dir: Path, token: str, wait_s: float) -> bool:
    """Whether `run.json` names `token`, waiting up to `wait_s` for the launcher to write it (a
    relaunch rewrites an older `run.json` that names an older token)."""
    deadline = time.monotonic() + wait_s
    while (read_json(run_dir / RUN_JSON) or {}).get("reservation") != token:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def is_reserved_only(run_dir: Path) -> bool:
    """True when a launcher reserved the directory and no trainer has written to it yet."""
    return run_dir.is_dir() and all(
        p.name in LAUNCHER_FILES or any(p.match(pattern) for pattern in LAUNCHER_PATTERNS)
        for p in run_dir.iterdir()
    )


def write_atomic(path: Path, text: str, temp_dir: Path | None = None) -> None:
    """Write `text` through a temporary file and `os.replace`, so readers never see half a file; the
    temporary file lies in `temp_dir` (default: beside `path`) and is removed when the write fails."""
    prefix = f".{path.parent.name}.{path.name}." if temp_dir else f".{path.name}."
    fd, tmp = tempfile.mkstemp(dir=temp_dir or path.parent, prefix=prefix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    """`obj` as indented JSON, atomically (`write_atomic`)."""
    write_atomic(path, json.dumps(obj, indent=2))


def read_json(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A JSON object file, or None when missing or damaged; only a regular file of at most
    `reading.MAX_SMALL_FILE` bytes, opened without blocking (a FIFO or `/dev/zero` is damaged too)."""
    try:
        obj = json.loads(read_regular(path))
    except (OSError, ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def git_info(repo: Path) -> dict[str, Any] | None:
    """Commit, dirty flag and diff of the git work tree at `repo`, or None outside one."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True, timeout=30, stdin=subprocess.DEVNULL).stdout
    try:
        commit = git("rev-parse", "HEAD").strip()
        status = git("status", "--porcelain")
        diff = git("diff", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip()), "status": status, "diff": diff}


def snapshot_code(run_dir: Path, package_dir: Path, configs: list[Path]) -> None:
    """Copy the framework's source and the run's configs to `src/`, with git commit and dirty diff."""
    src = run_dir / SRC_DIR
    shutil.copytree(package_dir, src / package_dir.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
    (src / "configs").mkdir(parents=True, exist_ok=True)
    for config in configs:
        shutil.copy2(config, src / "configs" / config.name)
    info = git_info(package_dir.parent)
    if info is not None:
        (src / "git.diff").write_text(info.pop("diff"), encoding="utf-8")
        write_json_atomic(src / "git.json", info)


def run_dir_names(save_dir: str | os.PathLike[str]) -> list[str]:
    """The name of every directory directly under the save dir (hidden ones, like `.trash`, excluded),
    and of every link there that leads nowhere (a loop, a target gone): a row saying so beats a run
    that silently vanished. Names, not paths: a 10,000-run save dir lists in milliseconds. Empty when
    the save dir is missing or unreadable."""
    try:
        with os.scandir(save_dir) as entries:
            return [e.name for e in entries if not e.name.startswith(".") and _run_dir_entry(e)]
    except OSError:
        return []


def _run_dir_entry(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir() or (entry.is_symlink() and not os.path.exists(entry.path))
    except OSError:  # a link loop: `is_dir` raises ELOOP
        return True
