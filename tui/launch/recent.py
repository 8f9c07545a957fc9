"""Which config the launch dialog starts on: the one launched last (remembered between sessions in a
tiny JSON file in the TUI's cache dir, beside the row cache), else the shipped default, else the first.

A missing, unreadable or damaged file is no memory, silently; so is a failed write. Torch- and
Textual-free.
"""

from __future__ import annotations

from pathlib import Path

from torchx.experiment import read_json, write_json_atomic

DEFAULT_CONFIG = "digits-classification.yaml"
"""The README's default: what `n` then `ctrl+l` trains in a fresh checkout."""
LAST_LAUNCH_FILE = "last-launch.json"


def remember(cache_dir: Path | None, config: Path) -> None:
    """Record `config` as the one launched last (nowhere when `cache_dir` is None)."""
    if cache_dir is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(cache_dir / LAST_LAUNCH_FILE, {"config": str(config.resolve())})
    except OSError:
        pass  # a memory, not a record: the launch itself went fine


def recall(cache_dir: Path | None) -> Path | None:
    """The config launched last, if one was remembered."""
    record = read_json(cache_dir / LAST_LAUNCH_FILE) if cache_dir is not None else None
    config = (record or {}).get("config")
    return Path(config) if isinstance(config, str) and config else None


def initial_index(configs: list[Path], last: Path | None) -> int:
    """The position in `configs` the dialog highlights first: `last`, else `DEFAULT_CONFIG`, else 0."""
    resolved = [p.resolve() for p in configs]
    if last is not None and last.resolve() in resolved:
        return resolved.index(last.resolve())
    names = [p.name for p in configs]
    return names.index(DEFAULT_CONFIG) if DEFAULT_CONFIG in names else 0
