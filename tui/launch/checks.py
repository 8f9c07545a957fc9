"""Configs offered by the launch dialog: list them, preview them, validate them without torch.

Structural validation (`torchx.config`) runs in-process; the framework's full check — the one the entry
runs before it writes anything — runs in a subprocess, since it imports torch and Lightning. That costs
seconds per fresh interpreter, so a dialog keeps one `python -m torchx.check --serve` process (a
`Checker`), started at its first check and killed when it closes; each check is then one JSON line each
way. A check command that cannot serve (a stand-in that exits at once) is run once per check instead.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from torchx.reading import open_regular

CHECK_ENTRY = (sys.executable, "-m", "torchx.check")
CHECK_TIMEOUT_S = 120.0
POLL_S = 0.1


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
    """The start of a config; a FIFO or device in the configs dir is refused, never waited on."""
    try:
        with os.fdopen(open_regular(path), "rb") as f:
            return f.read(4 * max_chars).decode("utf-8", errors="replace")[:max_chars]
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
    """Fast, in-process, torch-free: YAML, overrides, sections, spec shapes and value ranges."""
    from torchx.config import ConfigError, load_config  # with YAML: loaded when the dialog first asks

    try:
        load_config(config, overrides)
    except ConfigError as exc:
        return Verdict(False, _short(str(exc), config))
    return Verdict(True, "structure ok")


def check_available() -> bool:
    return (Path(__file__).resolve().parents[2] / "torchx" / "check.py").is_file()


class Checker:
    """The full check of (config, overrides), answered by one warm `torchx.check --serve` process.

    Thread-safe: checks are asked one at a time. A check whose asker gave up (`cancelled()`) leaves
    the process working; its late answer is recognised by its id and dropped. `close()` kills it.
    """

    def __init__(self, entry: tuple[str, ...] = CHECK_ENTRY, timeout: float = CHECK_TIMEOUT_S) -> None:
        self.entry, self.timeout = entry, timeout
        self._server: _Server | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._serves = True  # False once the entry has shown it answers no requests
        self._closed = False

    def check(self, config: Path, overrides: list[str],
              cancelled: Callable[[], bool] = lambda: False) -> Verdict | None:
        """Structure first, then the framework's own check; None when `cancelled()` turned true."""
        structure = validate_structure(config, overrides)
        if not structure.ok or not check_available():
            return structure
        with self._lock:
            if self._serves and not self._closed:
                verdict = self._ask(config, overrides, cancelled)
                if verdict is not None or self._serves:
                    return verdict
        if self._closed or cancelled():
            return None
        return check_once(config, overrides, self.entry, self.timeout, cancelled)

    def close(self) -> None:
        """Kill the serving process (the dialog closed); a check waiting on it returns None."""
        self._closed = True
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def _ask(self, config: Path, overrides: list[str], cancelled: Callable[[], bool]) -> Verdict | None:
        """One request and its answer; None when cancelled, closed, or (with `_serves` cleared) when
        the process ended without ever answering."""
        server = self._running()
        request_id = next(self._ids)
        request = {"id": request_id, "config": str(config), "overrides": overrides}
        if server is None or not server.send(request):
            return self._ended(server)
        deadline = time.monotonic() + self.timeout
        while not cancelled() and not self._closed:
            try:
                answer = server.answers.get(timeout=POLL_S)
            except queue.Empty:
                if time.monotonic() > deadline:
                    self._drop(server)
                    return Verdict(False, f"torchx.check took over {self.timeout:.0f} s")
                continue
            if answer is None:
                return self._ended(server)
            if answer.get("id") == request_id:
                return Verdict(bool(answer.get("ok")), _short(str(answer.get("message", "")), config))
        return None

    def _ended(self, server: _Server | None) -> Verdict | None:
        """The process is gone (or never started). One that never answered cannot serve: each check is
        then run once. One that did crashed on this request: say so; the next check starts a new one."""
        if server is None or not server.answered:
            self._serves = False
            return None
        self._drop(server)
        return Verdict(False, f"torchx.check ended unexpectedly (exit status {server.proc.returncode})")

    def _running(self) -> _Server | None:
        """The serving process, started if need be; None if it cannot start or the checker closed."""
        if self._server is None or self._server.proc.poll() is not None:
            try:
                self._server = _Server([*self.entry, "--serve"])
            except OSError:
                return None
            if self._closed:  # closed while it started: `close` may have missed it
                self.close()
                return None
        return self._server

    def _drop(self, server: _Server) -> None:
        """Stop `server`; the next check starts a new one."""
        server.stop()
        if self._server is server:
            self._server = None


class _Server:
    """One serving process and the thread that reads its answers (`None` once it ends)."""

    def __init__(self, argv: list[str]) -> None:
        # stdin a pipe, output to pipes and /dev/null: it never touches the TUI's terminal
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.answered = False
        threading.Thread(target=self._read, daemon=True, name="torchx-check-answers").start()

    def send(self, request: dict[str, Any]) -> bool:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except OSError:  # it has exited
            return False
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def _read(self) -> None:
        stream: IO[str] | None = self.proc.stdout
        assert stream is not None
        for line in stream:
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            if isinstance(answer, dict):
                self.answered = True
                self.answers.put(answer)
        self.answers.put(None)


def check_once(config: Path, overrides: list[str], entry: tuple[str, ...] = CHECK_ENTRY,
               timeout: float = CHECK_TIMEOUT_S,
               cancelled: Callable[[], bool] = lambda: False) -> Verdict | None:
    """The framework's check in a fresh process: exit 0 or one `error:` line. None when cancelled."""
    try:
        proc = subprocess.Popen([*entry, "--config", str(config), *overrides], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    except OSError as exc:
        return Verdict(False, f"cannot run torchx.check: {exc}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, stderr = proc.communicate(timeout=POLL_S)
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


def validate_full(config: Path, overrides: list[str], entry: tuple[str, ...] = CHECK_ENTRY,
                  timeout: float = CHECK_TIMEOUT_S) -> Verdict | None:
    """One full check with a checker of its own (started and stopped here)."""
    checker = Checker(entry, timeout)
    try:
        return checker.check(config, overrides)
    finally:
        checker.close()


def _short(message: str, config: Path) -> str:
    """Name the config by its file name: the dialog has one line or two for the reason."""
    return message.replace(str(config), config.name)


def _error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return lines[-1] if lines else ""
