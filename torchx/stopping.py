"""Turn SIGINT / SIGTERM into a stop request that the training loop honours between steps.

The handler only sets a flag, so a stop never lands in the middle of an optimizer step or a
checkpoint write; the loop then saves `last.ckpt` and ends with `end: stopped`. A second signal
while the first is pending raises KeyboardInterrupt: the escape hatch for a loop that is stuck.

SIGUSR1 is Slurm's warning before a time limit (`#SBATCH --signal=USR1@N`): the run stops the same
way and exits with `REQUEUE_EXIT`, which tells the batch script to requeue the job; the requeued job
resumes from `last.ckpt` (session.slurm_requeued).

A DDP rank that Lightning started leaves on its own when its parent, rank 0, is gone (`watch_parent`):
killed alone, rank 0 never joins the collective the rank waits in, and nothing else would end it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
REQUEUE_EXIT = 75  # EX_TEMPFAIL: stopped to be requeued
ORPHAN_EXIT = 1  # a rank whose parent is gone
ENV_PARENT_PID = "TORCHX_PARENT_PID"  # set by rank 0 for the ranks it starts: the process they watch


class StopRequest:
    def __init__(self) -> None:
        self.signal_name: str | None = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    @property
    def requeue(self) -> bool:
        return self.signal_name == "SIGUSR1"

    @property
    def exit_code(self) -> int:
        """The entry's exit status after a clean stop."""
        return REQUEUE_EXIT if self.requeue else 0

    @property
    def reason(self) -> str:
        return f"{self.signal_name} received{' (requeue)' if self.requeue else ''}"

    def install(self) -> StopRequest:
        """(Re)install the handlers; call again after a library replaced them."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signal_name is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}")
        self.signal_name = signal.Signals(signum).name


def watch_parent(interval_s: float = 0.5) -> threading.Thread:
    """Exit this process (`ORPHAN_EXIT`) once the process that started it is gone.

    The parent is `ENV_PARENT_PID` when rank 0 set it, so a parent that died before the watch began is
    noticed too; else this process's parent at the call. A daemon thread polls `os.getppid()`, which
    changes when the parent dies (the process is re-parented), and leaves with `os._exit`: the main
    thread may be blocked in a collective that will never complete.
    """
    parent = int(os.environ.get(ENV_PARENT_PID) or os.getppid())

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        print(f"torchx: process {os.getpid()}: its parent {parent} is gone; exiting", file=sys.stderr,
              flush=True)
        os._exit(ORPHAN_EXIT)

    thread = threading.Thread(target=watch, name="torchx-watch-parent", daemon=True)
    thread.start()
    return thread
