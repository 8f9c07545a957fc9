"""Shared helpers: run the real entries as subprocesses, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DIGITS = "configs/digits-classification.yaml"


def entry_cmd(entry: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"torchx.{entry}", *args]


def run_entry(entry: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python -m torchx.<entry> args...` from the repo root and wait for it."""
    return subprocess.run(entry_cmd(entry, *args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env=test_env())


def start_entry(entry: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """Start an entry detached in its own process group (as the TUI does), output to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(entry_cmd(entry, *args), cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=test_env())


def test_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHX_", "LOCAL_RANK", "RANK"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for(condition: Callable[[], object], timeout: float = 120, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def save_dir(tmp_path: Path) -> Path:
    path = tmp_path / "save"
    path.mkdir()
    return path


@pytest.fixture
def reap_tmp(tmp_path: Path) -> Iterator[None]:
    """SIGKILLs at teardown every process whose command line mentions this test's tmp_path."""
    yield
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        if str(tmp_path) in " ".join(proc.info["cmdline"] or []):
            try:
                proc.kill()
            except psutil.Error:
                pass
