"""A stand-in trainer for launcher tests: the entry's argv and stop contract, no torch.

It starts a helper child (like a data-loader worker), writes `start` and an `epoch` event every 0.1 s,
and on SIGINT writes `ckpt/last.ckpt` and `end: stopped`, then exits with its child. With
FAKE_IGNORE_SIGINT set it ignores SIGINT, like a trainer stuck in a step.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from torchx.events import EventWriter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--config", "--name", "--save-dir", "--gpu", "--resume"):
        parser.add_argument(flag)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    stop = []
    if os.environ.get("FAKE_IGNORE_SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a trainer stuck in a step that never ends
    else:
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    name = args.resume or args.name
    run_dir = Path(args.save_dir) / name
    (run_dir / "ckpt").mkdir(parents=True, exist_ok=True)
    os.environ["TORCHX_RUN_DIR"] = str(run_dir)  # as the real entry does; its children inherit it
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    writer = EventWriter(run_dir / "events.jsonl")
    writer.write("start", name=name, config=args.config, pid=os.getpid(), host=os.uname().nodename,
                 max_epochs=1000, devices="cpu", world_size=1, steps_per_epoch=1)
    for epoch in range(1000):
        if stop:
            (run_dir / "ckpt" / "last.ckpt").write_bytes(b"ckpt")
            writer.write("end", status="stopped", elapsed_s=0.0, error=None)
            child.terminate()
            return
        writer.write("epoch", epoch=epoch, step=epoch + 1, metrics={"val/acc": 0.5}, eta_s=1.0)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
