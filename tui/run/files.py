"""What a run directory says besides its events: files' mtimes, `run.json` (the launches), the first
`start` line, `config.yaml` (text, mapping, flattened key paths, the checkpoint's monitored metric),
`ckpt/`, `src/` (the reproduce card) and `meta.yaml` (the user's note and tags, the one file the TUI
writes into a run).

Anybody may have put anything in a run directory, so every read goes through `torchx.reading` (a
regular file only, opened without blocking, up to a cap), every field read is type-checked, and a file
that cannot be used yields a one-line reason naming it, never an exception or a hang.

Torch- and Textual-free; callers read these from their workers. YAML is imported on first use, off the
TUI's start-up path (~20 ms).
"""

from __future__ import annotations

import json
import os
import re
import reprlib
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchx.errors import UserError
from torchx.events import (
    DEVICES,
    EVENTS_FILE,
    INT,
    LIST,
    MAX_LINE_BYTES,
    NUMBER,
    TEXT,
    Schema,
    event_problem,
    field_problem,
)
from torchx.experiment import CKPT_DIR, CONFIG_FILE, META_FILE, RUN_JSON, SRC_DIR, STDOUT_FILE, write_atomic
from torchx.reading import open_regular, read_regular, read_regular_text, reason

Scalar = str | int | float | bool | None
_TAG = re.compile(r"^[\w.+-]+$")
_EPOCH_STEP = re.compile(r"epoch=(\d+).*?step=(\d+)")
MAX_META_BYTES = 64 << 10
"""A note and its tags: a few lines."""
STALE_S = 2.0
MAX_LEAVES = 100_000
"""The most key paths `flatten` gives: far beyond any real config, and a YAML alias bomb stops here."""
RUN_JSON_SCHEMA: Schema = (
    ("argv", LIST), ("pid", INT), ("pgid", INT), ("host", TEXT), ("gpus", DEVICES), ("launched_at", NUMBER),
    ("create_time", NUMBER), ("boot_time", NUMBER), ("backend", TEXT),
    ("job_id", frozenset({str, int, type(None)})), ("launches", LIST), ("reservation", TEXT),
)
"""The fields of `run.json` (and of each of its `launches`) that the TUI reads, with their types."""


# ---- run.json and the first start ----

def mtime_ns(path: str | os.PathLike[str]) -> int | None:
    """Modification time in nanoseconds (exact, unlike float seconds); None for a missing file."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def first_launch_of(record: dict[str, Any] | None) -> dict[str, Any]:
    """The first launch a `run.json` object records: its oldest `launches` entry, else the object itself."""
    record = record or {}
    launches = record.get("launches")
    if isinstance(launches, list) and launches and isinstance(launches[0], dict):
        return launches[0]
    return record


def first_launch(run_dir: Path) -> dict[str, Any]:
    """The run's first launch as `run.json` records it (empty for a run started from the command line
    or with an unreadable `run.json`)."""
    return first_launch_of(read_run_json(run_dir / RUN_JSON)[0])


def read_run_json(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, str]:
    """(`run.json`'s object, "") when it is well formed; (None, a one-line reason naming the file) when
    it exists but cannot be used; (None, "") when it does not exist."""
    record, problem = read_json_object(path)
    if record is not None:
        problem = _run_json_problem(record)
    if problem:
        return None, f"{os.path.basename(path)}: {problem}"
    return record, ""


def read_json_object(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, str]:
    """(a small JSON file's object, "") or (None, why not, without the file's name); (None, "") when it
    does not exist."""
    try:
        obj = json.loads(read_regular(path))
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, reason(exc)
    except (ValueError, RecursionError) as exc:
        return None, f"not JSON ({exc.__class__.__name__})"
    if not isinstance(obj, dict):
        return None, f"expected an object, got {type(obj).__name__}"
    return obj, ""


def _run_json_problem(record: dict[str, Any]) -> str:
    """The first wrongly typed field of a `run.json` object or of one of its launches."""
    problem = field_problem(record, RUN_JSON_SCHEMA)
    if problem is None:
        for i, launch in enumerate(record.get("launches") or ()):
            inner = field_problem(launch, RUN_JSON_SCHEMA) if isinstance(launch, dict) \
                else f"expected an object, got {type(launch).__name__}"
            if inner:
                return f"launches[{i}]: {inner}"
    return problem or ""


def first_launch_time(run_json: dict[str, Any] | None) -> float | None:
    """When the run was first launched (unix seconds); None for a run started from the command line."""
    for record in (first_launch_of(run_json), run_json or {}):
        at = record.get("launched_at")
        if isinstance(at, (int, float)):
            return float(at)
    return None


def config_name(config: Any, run_json: dict[str, Any] | None) -> str:
    """The config's file stem: from the `start` event's `config`, else from the launch's `--config`."""
    if not config and run_json:
        argv = run_json.get("argv") or []
        if "--config" in argv and argv.index("--config") + 1 < len(argv):
            config = argv[argv.index("--config") + 1]
    return os.path.splitext(os.path.basename(str(config)))[0] if config else ""


def read_head(path: str | os.PathLike[str], limit: int) -> bytes:
    """The first `limit` bytes of a regular file (OSError for anything else, as `open_regular` raises)."""
    fd = open_regular(path)
    try:
        return os.pread(fd, limit, 0)
    finally:
        os.close(fd)


STARTUP_TAIL_BYTES = 64 << 10
EXCEPTION_NAME = re.compile(r"[\w.]*(Error|Exception|Interrupt)")
"""A Python exception's (qualified) name, as a traceback's last line starts with it."""
_TRACEBACK_END = re.compile(EXCEPTION_NAME.pattern + r"\b.*")


def startup_error(run_dir: str | os.PathLike[str], run_json: dict[str, Any] | None) -> str:
    """Why the latest launch's child ended before the entry wrote its `start`: the entry's one-line
    `error:` or the last line of a traceback, in what it wrote to `stdout.log` since that launch
    (`stdout_offset`); empty when it wrote none (killed, not failed)."""
    offset = (run_json or {}).get("stdout_offset")
    offset = offset if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0 else 0
    try:
        fd = open_regular(os.path.join(run_dir, STDOUT_FILE))
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(max(offset, size - STARTUP_TAIL_BYTES))
        lines = f.read(STARTUP_TAIL_BYTES).decode("utf-8", "replace").splitlines()
    for line in reversed(lines):
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    return next((line.strip() for line in reversed(lines) if _TRACEBACK_END.match(line)), "")


def first_start(run_dir: Path) -> dict[str, Any]:
    """The run's first `start` event (its first line), without reading the rest of the log; empty when
    that line is no well-formed `start`."""
    try:
        event = json.loads(read_head(run_dir / EVENTS_FILE, MAX_LINE_BYTES + 1).partition(b"\n")[0])
    except (OSError, ValueError, RecursionError):
        return {}
    ok = isinstance(event, dict) and event.get("event") == "start" and event_problem(event) is None
    return event if ok else {}


def first_argv(run_dir: Path, start_argv: Any = None) -> list[str]:
    """The argv of the run's first launch (`run.json`), else of its first `start` event (`start_argv`
    when the caller has read it already)."""
    argv = first_launch(run_dir).get("argv")
    if not argv:
        argv = start_argv if start_argv is not None else first_start(run_dir).get("argv")
    return [str(a) for a in argv] if isinstance(argv, (list, tuple)) else []


# ---- config.yaml ----

def read_config(run_dir: Path, limit: int = 200_000) -> str:
    """The first `limit` bytes of the run's config.yaml as text; empty when missing or unreadable."""
    try:
        return read_head(run_dir / CONFIG_FILE, limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def load_run_config(run_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the run's resolved config, None) or (None, a one-line reason naming the file)."""
    from torchx.config import ConfigError, load_yaml

    try:
        return load_yaml(run_dir / CONFIG_FILE), None
    except ConfigError as exc:
        return None, str(exc)
    except (OSError, ValueError, RecursionError) as exc:  # whatever the loader lets through: one line
        return None, f"{run_dir / CONFIG_FILE}: cannot read ({exc.__class__.__name__})"


class TooManyKeys(ValueError):
    """A config with more than `MAX_LEAVES` key paths (YAML aliases can make a tiny file that large)."""


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """Leaf values by key path, the one syntax of the diff screen and the `cfg.` filter: mappings as
    `a.b.c`, list items as `a.b[0]` (`{"a": {"b": [1, {"c": 2}]}}` → `a.b[0]`, `a.b[1].c`). An empty
    mapping or list is one leaf. TooManyKeys beyond `MAX_LEAVES`."""
    leaves: dict[str, Any] = {}
    for key, value in config.items():
        _leaves(value, str(key), leaves)
    return leaves


def _leaves(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _leaves(item, f"{path}.{key}", out)
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            _leaves(item, f"{path}[{i}]", out)
    elif len(out) >= MAX_LEAVES:
        raise TooManyKeys(f"more than {MAX_LEAVES:,} keys")
    else:
        out[path] = value


def _scalar(value: Any) -> Scalar:
    """A leaf as the filter compares it and the row cache stores it (JSON): `{}`, `[]`, a date as text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return "{}" if value == {} else "[]" if value == [] else str(value)


def read_config_values(run_dir: str | os.PathLike[str]) -> dict[str, Scalar]:
    """The run's resolved `config.yaml`, flattened; empty when missing or unusable."""
    try:
        data = _yaml(read_regular_text(os.path.join(run_dir, CONFIG_FILE)))
        return {key: _scalar(value) for key, value in flatten(data).items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):  # UnicodeDecodeError and TooManyKeys are ValueErrors
        return {}


def _yaml(text: str) -> Any:
    """`torchx.config.safe_load`, with every way it can refuse a document as a ValueError."""
    import yaml  # YAML loads on the first read, off the TUI's start-up path (~20 ms)

    from torchx.config import safe_load

    try:
        return safe_load(text)
    except (yaml.YAMLError, RecursionError, UserError) as exc:
        raise ValueError(_yaml_problem(exc)) from None


def _yaml_problem(exc: BaseException) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"malformed YAML at line {mark.line + 1}"
    return (str(exc).splitlines() or ["malformed YAML"])[0]  # a bound the loader enforces says which


def checkpoint_spec(text: str) -> dict[str, Any]:
    """The `checkpoint` section of the run's resolved config; empty when missing or unreadable."""
    try:
        config = _yaml(text)
    except ValueError:
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


# ---- ckpt/ ----

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


# ---- src/: the reproduce card ----

@dataclass(frozen=True)
class Reproduce:
    command: str
    resume_command: str
    commit: str | None
    dirty: bool | None
    snapshot: str | None
    diff: str | None
    config: str


def reproduce(run_dir: Path, start_argv: Any = None, entry: str | None = None) -> Reproduce:
    """The exact command that launched the run, its git state and where its code snapshot lies."""
    command = shlex.join(first_argv(run_dir, start_argv))
    git = read_json_object(run_dir / SRC_DIR / "git.json")[0] or {}
    src = run_dir / SRC_DIR
    diff = src / "git.diff"
    module = f"torchx.{entry}" if entry in ("train", "train_pl") else "torchx.train_pl"
    resume = shlex.join(["python", "-m", module, "--resume", run_dir.name, "--save-dir", str(run_dir.parent)])
    return Reproduce(
        command=command,
        resume_command=resume,
        commit=git.get("commit") if isinstance(git.get("commit"), str) else None,
        dirty=git.get("dirty") if isinstance(git.get("dirty"), bool) else None,
        snapshot=str(src) if os.path.isdir(src) else None,  # False, not an error, when unreadable
        diff=str(diff) if os.path.isfile(diff) and _size(diff) else None,
        config=str(run_dir / CONFIG_FILE),
    )


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# ---- meta.yaml ----

@dataclass(frozen=True)
class Meta:
    """A run's note and tags; `error` says why `meta.yaml` could not be read (the file is left alone)."""

    note: str = ""
    tags: tuple[str, ...] = ()
    error: str = ""


def read_meta(run_dir: str | os.PathLike[str]) -> Meta:
    """The run's note and tags; `Meta.error` names the file and why it cannot be used (the row says
    which run: the reason stays short enough to read under the table)."""
    try:
        data = _yaml(read_regular_text(Path(run_dir) / META_FILE, MAX_META_BYTES))
    except FileNotFoundError:
        return Meta()
    except OSError as exc:
        return Meta(error=f"{META_FILE}: {reason(exc)}")
    except UnicodeDecodeError:
        return Meta(error=f"{META_FILE}: not UTF-8 text")
    except ValueError as exc:
        return Meta(error=f"{META_FILE}: {exc}")
    return _meta_from(data)


def _meta_from(data: Any) -> Meta:
    if data is None:
        return Meta()
    if not isinstance(data, dict):
        return Meta(error=f"{META_FILE}: expected a mapping with note and tags, got {type(data).__name__}")
    note, tags = data.get("note") or "", data.get("tags") or []
    if not isinstance(note, str):
        return Meta(error=f"{META_FILE}: note: expected text, got {type(note).__name__}")
    if not isinstance(tags, list) or not all(isinstance(t, str) and _TAG.match(t) for t in tags):
        return Meta(error=f"{META_FILE}: tags: expected a list of words, got {_short(tags)}")
    return Meta(note, tuple(tags))


def _short(value: Any, width: int = 60) -> str:
    """A bounded repr: a YAML alias bomb's full repr would never end."""
    return reprlib.repr(value)[:width]


def parse_tags(text: str) -> tuple[tuple[str, ...], str | None]:
    """Tags from a line of words separated by spaces or commas; (tags, problem naming the bad tag)."""
    tags: list[str] = []
    for tag in re.split(r"[\s,]+", text.strip()):
        if not tag:
            continue
        if not _TAG.match(tag):
            return (), f"tag '{tag}': use letters, digits and . _ + - only"
        if tag not in tags:
            tags.append(tag)
    return tuple(tags), None


def write_meta(run_dir: Path, meta: Meta) -> None:
    """Atomically, through a temporary file beside the run directory (a launcher-reserved directory
    must hold only the launcher's files until the trainer adopts it); no file when both are empty."""
    path = run_dir / META_FILE
    if not meta.note.strip() and not meta.tags:
        path.unlink(missing_ok=True)
        return
    import yaml

    data = {"note": meta.note.strip(), "tags": list(meta.tags)}
    write_atomic(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True), temp_dir=run_dir.parent)


def trial_of(run_json: dict[str, Any] | None) -> tuple[str, int] | None:
    """(sweep, trial number) when the run is a sweep's trial (its `run.json` `queued` block says so,
    and keeps saying so through launches and resumes)."""
    block = (run_json or {}).get("queued")
    if not isinstance(block, dict):
        return None
    sweep, number = block.get("sweep"), block.get("trial")
    if isinstance(sweep, str) and isinstance(number, int) and not isinstance(number, bool) and number >= 0:
        return sweep, number
    return None
