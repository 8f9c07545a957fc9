"""Fault tests drive the TUI with the helpers of tests/tui (the pilot drivers, the run directory
makers, the damaged-directory zoo), imported by module name as the TUI tests import them."""

from __future__ import annotations

import sys
from pathlib import Path

TUI_TESTS = str(Path(__file__).resolve().parents[1] / "tui")
if TUI_TESTS not in sys.path:
    sys.path.insert(0, TUI_TESTS)
