"""What a run directory says besides its events, for searching: the resolved config's key paths and the
user's note and tags (`meta.yaml`, the one file the TUI writes into a run).

Torch- and Textual-free; the scanner reads these in its worker when a file's mtime changes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchx.experiment import CONFIG_FILE, META_FILE, write_atomic

Scalar = str | int | float | bool | None
_TAG = re.compile(r"^[\w.+-]+$")


@dataclass(frozen=True)
class Meta:
    """A run's note and tags; `error` says why `meta.yaml` could not be read (the file is left alone)."""

    note: str = ""
    tags: tuple[str, ...] = ()
    error: str = ""


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """Leaf values by key path, the one syntax of the diff screen and the `cfg.` filter: mappings as
    `a.b.c`, list items as `a.b[0]` (`{"a": {"b": [1, {"c": 2}]}}` → `a.b[0]`, `a.b[1].c`). An empty
    mapping or list is one leaf."""
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
    else:
        out[path] = value


def _scalar(value: Any) -> Scalar:
    """A leaf as the filter compares it and the row cache stores it (JSON): `{}`, `[]`, a date as text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return "{}" if value == {} else "[]" if value == [] else str(value)


def read_config_values(run_dir: str | os.PathLike[str]) -> dict[str, Scalar]:
    """The run's resolved `config.yaml`, flattened; empty when missing or unreadable."""
    import yaml  # YAML loads on the first read, off the TUI's start-up path (~20 ms)

    from torchx.config import safe_load

    try:
        with open(os.path.join(run_dir, CONFIG_FILE), encoding="utf-8") as f:
            data = safe_load(f)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return {key: _scalar(value) for key, value in flatten(data).items()} if isinstance(data, dict) else {}


def read_meta(run_dir: str | os.PathLike[str]) -> Meta:
    import yaml

    from torchx.config import safe_load

    path = Path(run_dir) / META_FILE
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Meta()
    except (OSError, UnicodeDecodeError) as exc:
        return Meta(error=f"{path}: cannot read ({exc.__class__.__name__})")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        return Meta(error=f"{path}: malformed YAML{where}")
    return _meta_from(data, path)


def _meta_from(data: Any, path: Path) -> Meta:
    if data is None:
        return Meta()
    if not isinstance(data, dict):
        return Meta(error=f"{path}: expected a mapping with note and tags, got {type(data).__name__}")
    note, tags = data.get("note") or "", data.get("tags") or []
    if not isinstance(note, str):
        return Meta(error=f"{path}: note: expected text, got {type(note).__name__}")
    if not isinstance(tags, list) or not all(isinstance(t, str) and _TAG.match(t) for t in tags):
        return Meta(error=f"{path}: tags: expected a list of words, got {tags!r}"[:200])
    return Meta(note, tuple(tags))


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
