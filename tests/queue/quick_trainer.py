"""A stand-in entry for the runner's quick tests: it adopts its reserved directory as the real entry
does (the reservation token in `run.json`), writes `start`, lives `QUICK_S` seconds, writes `end`.
No torch: a tick of the runner can be tested in a second.

With `QUICK_EPOCHS=N` it writes N `epoch` events instead, `QUICK_S` apart, whose `val/acc` is
`seed / 1000 + epoch / 100` (`seed=` from its overrides: a sweep over `seed=int(0,999)` gets a
different, known objective per trial), and a SIGINT ends it `stopped` at the next epoch, as the real
entry's graceful stop does."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from torchx.events import EventWriter  # noqa: E402
from torchx.experiment import ENV_RESERVATION, claim_run_dir  # noqa: E402


def score(overrides: list[str]) -> float:
    seeds = [o.partition("=")[2] for o in overrides if o.startswith("seed=")]
    return int(seeds[-1]) / 1000 if seeds else 0.0


def main() -> None:
    stop: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: stop.append(signum))
    parser = argparse.ArgumentParser()
    for flag in ("--config", "--name", "--save-dir", "--gpu"):
        parser.add_argument(flag)
    parser.add_argument("overrides", nargs="*")
    args, _ = parser.parse_known_args()
    run_dir = claim_run_dir(args.save_dir, args.name, os.environ.get(ENV_RESERVATION), wait_s=5)
    writer = EventWriter(run_dir / "events.jsonl")
    epochs = int(os.environ.get("QUICK_EPOCHS", "0"))
    writer.write("start", name=args.name, config=args.config, pid=os.getpid(), host=os.uname().nodename,
                 devices=args.gpu or "cpu", world_size=1, max_epochs=max(1, epochs), steps_per_epoch=1)
    pause = float(os.environ.get("QUICK_S", "0.5"))
    if not epochs:
        time.sleep(pause)
    for epoch in range(epochs):
        time.sleep(pause)
        if stop:
            writer.write("end", status="stopped", elapsed_s=0.0, error=None, reason="SIGINT received")
            return
        writer.write("epoch", epoch=epoch, step=epoch + 1,
                     metrics={"val/acc": score(args.overrides) + epoch / 100}, epoch_time_s=pause)
    writer.write("end", status="finished", elapsed_s=0.0, error=None)


if __name__ == "__main__":
    main()
