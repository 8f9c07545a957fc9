"""The bench scripts start: `python bench/<name>.py` puts bench/ first on the path, so a script named like
a standard module (`queue`, `profile`, …) would stand in for it in every other bench's imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.conftest import test_env as child_env

MODULES = sorted((REPO / "bench").glob("*.py"))
SCRIPTS = [p for p in MODULES if 'if __name__ == "__main__":' in p.read_text(encoding="utf-8")]


def test_no_bench_module_shadows_a_standard_module() -> None:
    assert SCRIPTS
    assert not [p.name for p in MODULES if p.stem in sys.stdlib_module_names]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_bench_script_starts(script) -> None:
    out = subprocess.run([sys.executable, str(script), "--help"], cwd=REPO, capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL, env=child_env())
    assert out.returncode == 0 and "usage" in out.stdout, out.stderr[-2000:]


COUNTS = [("check.py", "--cold"), ("check.py", "--warm"), ("eta.py", "--runs"), ("eta.py", "--threads"),
          ("overhead.py", "--reps"), ("overhead.py", "--max-reps"), ("overhead.py", "--threads"),
          ("queued.py", "--repeats"), ("queued.py", "--idle-s"), ("queued.py", "--rounds"),
          ("tail.py", "--size-gb"), ("tail.py", "--follow-s"), ("terminal.py", "--window-s"),
          ("tui.py", "--runs"), ("tui.py", "--idle-s")]


@pytest.mark.parametrize(("script", "flag"), COUNTS, ids=lambda x: x)
@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_count_or_length_below_one_is_refused_before_anything_runs(script: str, flag: str,
                                                                      value: str) -> None:
    """`--reps 0` once ran the whole default bench (0 read as "not given")."""
    out = subprocess.run([sys.executable, str(REPO / "bench" / script), flag, value], cwd=REPO,
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                         env=child_env())
    assert out.returncode == 2 and f"error: argument {flag}: " in out.stderr and out.stdout == "", out.stderr
