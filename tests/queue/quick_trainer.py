"""A stand-in entry for the runner's quick tests: it adopts its reserved directory as the real entry
does (the reservation token in `run.json`), writes `start`, lives `QUICK_S` seconds, writes `end`.
No torch: a tick of the runner can be tested in a second."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from torchx.events import EventWriter  # noqa: E402
from torchx.experiment import ENV_RESERVATION, claim_run_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--config", "--name", "--save-dir", "--gpu"):
        parser.add_argument(flag)
    parser.add_argument("overrides", nargs="*")
    args, _ = parser.parse_known_args()
    run_dir = claim_run_dir(args.save_dir, args.name, os.environ.get(ENV_RESERVATION), wait_s=5)
    writer = EventWriter(run_dir / "events.jsonl")
    writer.write("start", name=args.name, config=args.config, pid=os.getpid(), host=os.uname().nodename,
                 devices=args.gpu or "cpu", world_size=1, max_epochs=1, steps_per_epoch=1)
    time.sleep(float(os.environ.get("QUICK_S", "0.5")))
    writer.write("end", status="finished", elapsed_s=0.0, error=None)


if __name__ == "__main__":
    main()
