"""The run view's logic modules import neither Textual nor torch (STYLE.md): they run in workers and
in bench/tail.py without an app."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

LOGIC = ("tui.series", "tui.run_data", "tui.run_loader", "tui.run_files", "tui.run_watch", "tui.logtail",
         "tui.procs", "tui.gpu_history", "tui.run_text")


def test_run_view_logic_is_textual_and_torch_free() -> None:
    probe = f"import {', '.join(LOGIC)}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & {"textual", "torch", "lightning", "pytorch_lightning", "textual_plotext", "plotext"}
