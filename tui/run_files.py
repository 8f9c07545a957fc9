"""What a run directory says besides its events: checkpoints on disk, the reproduce card, the config.

Torch- and Textual-free; the view calls these from its worker.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from torchx.config import safe_load
from torchx.experiment import CKPT_DIR, CONFIG_FILE, EVENTS_FILE, RUN_JSON, SRC_DIR, read_json

_EPOCH_STEP = re.compile(r"epoch=(\d+).*?step=(\d+)")
STALE_S = 2.0
START_LINE_BYTES = 1 << 20


@dataclass(frozen=True)
class Checkpoint:
    name: str
    size: int
    mtime: float
    epoch: int | None
    step: int | None
    monitor: str | None
    value: float | None


def checkpoints(run_dir: Path, events: dict[str, dict[str, Any]]) -> list[Checkpoint]:
    """Every file in `ckpt/`, newest first, with epoch, step and monitored value from its `ckpt`
    event, or (epoch, step) from its name when no event describes the file as it is now."""
    try:
        entries = [e for e in os.scandir(run_dir / CKPT_DIR)
                   if e.is_file() and not e.name.startswith(".")]
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            stat = entry.stat()
        except OSError:
            continue
        event = events.get(f"{CKPT_DIR}/{entry.name}")
        if event is not None and stat.st_mtime > float(event.get("time") or 0) + STALE_S:
            event = None  # rewritten since its event (e.g. last.ckpt): the event no longer describes it
        found.append(_checkpoint(entry.name, stat.st_size, stat.st_mtime, event))
    return sorted(found, key=lambda c: (-c.mtime, c.name))


def _checkpoint(name: str, size: int, mtime: float, event: dict[str, Any] | None) -> Checkpoint:
    if event is not None:
        value = event.get("value")
        return Checkpoint(name, size, mtime, _int(event.get("epoch")), _int(event.get("step")),
                          event.get("monitor"), float(value) if isinstance(value, (int, float)) else None)
    match = _EPOCH_STEP.search(name)
    epoch, step = (int(match[1]), int(match[2])) if match else (None, None)
    return Checkpoint(name, size, mtime, epoch, step, None, None)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


@dataclass(frozen=True)
class Reproduce:
    command: str
    resume_command: str
    commit: str | None
    dirty: bool | None
    snapshot: str | None
    diff: str | None
    config: str


def first_launch(run_dir: Path) -> dict[str, Any]:
    """The run's first launch as `run.json` records it (empty for a run started from the command line)."""
    record = read_json(run_dir / RUN_JSON) or {}
    launches = record.get("launches")
    if isinstance(launches, list) and launches and isinstance(launches[0], dict):
        return launches[0]
    return record


def first_start(run_dir: Path) -> dict[str, Any]:
    """The run's first `start` event (its first line), without reading the rest of the log."""
    try:
        with open(run_dir / EVENTS_FILE, "rb") as f:
            line = f.readline(START_LINE_BYTES)
        event = json.loads(line)
    except (OSError, ValueError):
        return {}
    return event if isinstance(event, dict) and event.get("event") == "start" else {}


def first_argv(run_dir: Path, start_argv: Any = None) -> list[str]:
    """The argv of the run's first launch (`run.json`), else of its first `start` event (`start_argv`
    when the caller has read it already)."""
    argv = first_launch(run_dir).get("argv")
    if not argv:
        argv = start_argv if start_argv is not None else first_start(run_dir).get("argv")
    return [str(a) for a in argv] if isinstance(argv, (list, tuple)) else []


def reproduce(run_dir: Path, start_argv: Any = None, entry: str | None = None) -> Reproduce:
    """The exact command that launched the run, its git state and where its code snapshot lies."""
    command = shlex.join(first_argv(run_dir, start_argv))
    git = read_json(run_dir / SRC_DIR / "git.json") or {}
    src = run_dir / SRC_DIR
    diff = src / "git.diff"
    module = f"torchx.{entry}" if entry in ("train", "train_pl") else "torchx.train_pl"
    resume = shlex.join(["python", "-m", module, "--resume", run_dir.name, "--save-dir", str(run_dir.parent)])
    return Reproduce(
        command=command,
        resume_command=resume,
        commit=git.get("commit") if isinstance(git.get("commit"), str) else None,
        dirty=git.get("dirty") if isinstance(git.get("dirty"), bool) else None,
        snapshot=str(src) if src.is_dir() else None,
        diff=str(diff) if diff.is_file() and diff.stat().st_size else None,
        config=str(run_dir / CONFIG_FILE),
    )


def reproduce_text(card: Reproduce) -> str:
    dirty = {True: " (dirty: uncommitted changes, see the diff)", False: " (clean)", None: ""}[card.dirty]
    lines = [
        "command",
        f"  {card.command or '(unknown: no run.json or start event)'}",
        "resume",
        f"  {card.resume_command}",
        "git commit",
        f"  {card.commit or '(not in a git repository)'}{dirty}",
        "code snapshot",
        f"  {card.snapshot or '(none)'}",
        "config",
        f"  {card.config}",
    ]
    if card.diff:
        lines += ["uncommitted diff", f"  {card.diff}"]
    return "\n".join(lines)


def read_config(run_dir: Path, limit: int = 200_000) -> str:
    try:
        with open(run_dir / CONFIG_FILE, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return ""


def checkpoint_spec(text: str) -> dict[str, Any]:
    """The `checkpoint` section of the run's resolved config; empty when missing or unreadable."""
    try:
        config = safe_load(text)
    except yaml.YAMLError:
        return {}
    ckpt = config.get("checkpoint") if isinstance(config, dict) else None
    return ckpt if isinstance(ckpt, dict) else {}


def monitor_of(spec: dict[str, Any]) -> tuple[str | None, str | None]:
    """(monitor, mode) of a `checkpoint` section."""
    monitor, mode = spec.get("monitor"), spec.get("mode")
    return (monitor if isinstance(monitor, str) else None, mode if isinstance(mode, str) else None)


def monitor_from_config(text: str) -> tuple[str | None, str | None]:
    """(checkpoint.monitor, checkpoint.mode) from the run's resolved config."""
    return monitor_of(checkpoint_spec(text))
