"""The Slurm tests need the real local cluster of scripts/local-slurm.sh (`.ci/run` starts it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "tui"))  # the TUI tests' pilot helpers


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    if not shutil.which("sbatch") or not os.environ.get("SLURM_CONF"):
        pytest.skip("no local Slurm cluster: run `eval $(scripts/local-slurm.sh start)` first")
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    if state.returncode != 0 or not state.stdout.strip():
        pytest.skip(f"Slurm does not answer: {state.stderr.strip()[:200]}")
