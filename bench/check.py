"""Launch-check figures: a fresh `python -m torchx.check` per check against the dialog's warm checker.

    python bench/check.py [--cold 3] [--warm 20]

1. cold: `--cold` fresh `python -m torchx.check --config <digits> <override>` processes, each timed from
   spawn to exit (what every check cost when each one started an interpreter and imported torch).
2. warm: one `tui.launch.checks.Checker`, as a launch dialog holds it: its first check (the process
   starts and imports torch and Lightning), then `--warm` checks on the same process, alternating an
   accepted config, a misspelt Trainer argument and an ill-typed learning rate (target: < 3 s each).

The last line printed is one JSON object with the figures (seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.args import positive_int  # noqa: E402
from tui.launch.checks import CHECK_ENTRY, Checker  # noqa: E402  (after the path above)

CONFIG = REPO / "configs" / "digits-classification.yaml"
OVERRIDES = ([], ["trainer_params.max_epoch=3"], ["train_wrapper.args.optim_spec.args.lr=abc"])


def cold_seconds(runs: int) -> list[float]:
    times = []
    for i in range(runs):
        t = time.perf_counter()
        subprocess.run([*CHECK_ENTRY, "--config", str(CONFIG), *OVERRIDES[i % len(OVERRIDES)]], cwd=REPO,
                       stdin=subprocess.DEVNULL, capture_output=True, check=False)
        times.append(time.perf_counter() - t)
    return times


def warm_seconds(runs: int) -> tuple[float, list[float]]:
    """(the first check, the checks after it) on one checker."""
    checker = Checker()
    try:
        t = time.perf_counter()
        first = checker.check(CONFIG, [])
        first_s = time.perf_counter() - t
        assert first is not None and first.ok, first
        times = []
        for i in range(runs):
            t = time.perf_counter()
            verdict = checker.check(CONFIG, OVERRIDES[i % len(OVERRIDES)])
            times.append(time.perf_counter() - t)
            assert verdict is not None and verdict.ok == (i % len(OVERRIDES) == 0), verdict
    finally:
        checker.close()
    return first_s, times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cold", type=positive_int, default=3)
    parser.add_argument("--warm", type=positive_int, default=20)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.2f}")
    cold = cold_seconds(args.cold)
    print(f"cold: {args.cold} fresh processes: median {statistics.median(cold):.2f} s "
          f"(min {min(cold):.2f}, max {max(cold):.2f})")
    first, warm = warm_seconds(args.warm)
    print(f"warm: first check (process start) {first:.2f} s; then {args.warm} checks: median "
          f"{statistics.median(warm):.3f} s (max {max(warm):.3f})")
    figures = {"load_average": load, "cold_median_s": statistics.median(cold), "cold_max_s": max(cold),
               "warm_first_s": first, "warm_median_s": statistics.median(warm), "warm_max_s": max(warm)}
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
