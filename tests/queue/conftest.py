"""The queue tests start runners and trainers in sessions of their own: whatever is left of them at a
test's end (a runner killed mid-queue leaves its trainers running) is killed then."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest


@pytest.fixture
def reap(tmp_path: Path) -> Iterator[None]:
    """SIGKILLs at teardown every process whose command line mentions this test's tmp_path."""
    yield
    for proc in psutil.process_iter(["cmdline"]):
        if str(tmp_path) in " ".join(proc.info["cmdline"] or []):
            try:
                proc.kill()
            except psutil.Error:
                pass
