"""The queue tests start runners and trainers in sessions of their own: whatever is left of them at a
test's end (a runner killed mid-queue leaves its trainers running) is killed then."""

from __future__ import annotations

import pytest


@pytest.fixture
def reap(reap_tmp: None) -> None:
    """`reap_tmp` (tests/conftest.py): every process of this test's tmp_path is killed at its end."""
