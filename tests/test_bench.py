"""The bench scripts start: `python bench/<name>.py` puts bench/ first on the path, so a script named like
a standard module (`queue`, `profile`, …) would stand in for it in every other bench's imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.conftest import test_env as child_env

SCRIPTS = sorted((REPO / "bench").glob("*.py"))


def test_no_bench_script_shadows_a_standard_module() -> None:
    assert SCRIPTS
    assert not [p.name for p in SCRIPTS if p.stem in sys.stdlib_module_names]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_bench_script_starts(script) -> None:
    out = subprocess.run([sys.executable, str(script), "--help"], cwd=REPO, capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL, env=child_env())
    assert out.returncode == 0 and "usage" in out.stdout, out.stderr[-2000:]
