"""Configs offered by the launch dialog: list them, preview them, validate them without torch.

Structural validation (`torchx.config`) runs in-process; the framework's full check (`python -m
torchx.check`, which imports torch to resolve registry names and arguments) runs in a short subprocess.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from torchx.config import ConfigError, load_config

CHECK_ENTRY = (sys.executable, "-m", "torchx.check")
CHECK_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str


def list_configs(configs_dir: Path) -> list[Path]:
    try:
        return sorted(p for p in configs_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return []


def read_preview(path: Path, max_chars: int = 20_000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:max_chars]
    except OSError as exc:
        return f"# cannot read {path}: {exc}"


def split_overrides(text: str) -> tuple[list[str], str | None]:
    """Shell-like split of the overrides line; (overrides, problem)."""
    try:
        items = shlex.split(text)
    except ValueError as exc:
        return [], f"overrides: {exc}"
    for item in items:
        key, sep, _ = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            return [], f"override '{item}': expected key.path=value"
    return items, None


def validate_structure(config: Path, overrides: list[str]) -> Verdict:
    """Fast, in-process, torch-free: YAML, overrides, sections and spec shapes."""
    try:
        load_config(config, overrides)
    except ConfigError as exc:
        return Verdict(False, str(exc))
    return Verdict(True, "structure ok")


def check_available() -> bool:
    return (Path(__file__).resolve().parent.parent / "torchx" / "check.py").is_file()


def validate_full(config: Path, overrides: list[str], entry: tuple[str, ...] = CHECK_ENTRY,
                  timeout: float = CHECK_TIMEOUT_S) -> Verdict:
    """Structure first, then the framework's own check in a subprocess (registry names, arguments)."""
    verdict = validate_structure(config, overrides)
    if not verdict.ok or not check_available():
        return verdict
    try:
        done = subprocess.run([*entry, "--config", str(config), *overrides], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Verdict(False, f"torchx.check did not answer within {timeout:.0f} s")
    except OSError as exc:
        return Verdict(False, f"cannot run torchx.check: {exc}")
    if done.returncode == 0:
        return Verdict(True, "config ok")
    return Verdict(False, _error_line(done.stderr) or f"torchx.check exited with {done.returncode}")


def _error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return lines[-1] if lines else ""
