"""Configs offered by the launch dialog: list them, preview them, validate them without torch.

Structural validation (`torchx.config`) runs in-process; the framework's full check (`python -m
torchx.check`, which imports torch to resolve registry names and arguments) runs in a short subprocess.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
    from torchx.config import ConfigError, load_config  # with YAML: loaded when the dialog first asks

    try:
        load_config(config, overrides)
    except ConfigError as exc:
        return Verdict(False, _short(str(exc), config))
    return Verdict(True, "structure ok")


def check_available() -> bool:
    return (Path(__file__).resolve().parents[2] / "torchx" / "check.py").is_file()


def validate_full(config: Path, overrides: list[str], entry: tuple[str, ...] = CHECK_ENTRY,
                  timeout: float = CHECK_TIMEOUT_S,
                  cancelled: Callable[[], bool] = lambda: False) -> Verdict | None:
    """Structure first, then the framework's own check in a subprocess (registry names, arguments).

    None when `cancelled()` turned true meanwhile: the subprocess is killed, its answer is not wanted.
    """
    verdict = validate_structure(config, overrides)
    if not verdict.ok or not check_available():
        return verdict
    try:
        proc = subprocess.Popen([*entry, "--config", str(config), *overrides], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    except OSError as exc:
        return Verdict(False, f"cannot run torchx.check: {exc}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, stderr = proc.communicate(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            if cancelled() or time.monotonic() > deadline:
                proc.kill()
                proc.communicate()
                return None if cancelled() else Verdict(False, f"torchx.check took over {timeout:.0f} s")
    if proc.returncode == 0:
        return Verdict(True, "config ok")
    message = _error_line(stderr) or f"torchx.check exited with {proc.returncode}"
    return Verdict(False, _short(message, config))


def _short(message: str, config: Path) -> str:
    """Name the config by its file name: the dialog has one line or two for the reason."""
    return message.replace(str(config), config.name)


def _error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return lines[-1] if lines else ""
