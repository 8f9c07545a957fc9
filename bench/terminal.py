"""Bytes per second the TUI writes to its terminal, per screen, as an SSH session would carry them.

Run from the repository root: `.venv/bin/python bench/terminal.py [--quick]` (about five minutes; with
`--quick`, 5 s windows, about a minute and a half). It starts the real `python -m tui --save-dir <tmp>`
in a pseudo-terminal (TERM=xterm-256color) at 80×24 and at 120×40, with two runs in the save dir: one
"training" (a fake writer process appends a `step` event every 0.1 s and an `epoch` event every 3 s,
after a `start` with its own pid and create time, so its status is `running`, and a line to `log.txt`
per step) and one finished. It sends keys through the pty to reach each screen and counts the bytes the
app writes over a window per screen, after a settling second:

- `table_live`: the runs table with the one run training;
- `view_metrics`, `view_log`, `view_system`: the run view of the training run on tabs 1, 2 and 3;
- `view_settled`: the run view of a finished run (the writer is stopped, with an `end`, first);
- `idle_after_view`: the runs table, no run live, after the run views were opened and closed.

It prints one line per figure and, last, one JSON object `{"80x24": {...}, "120x40": {...}}` in B/s.
Budgets at 80×24: the live views < 2,000 B/s, the table with one live run < 500, anything idle < 50;
at 120×40 at most twice those.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.args import positive_float  # noqa: E402

SIZES = ((80, 24), (120, 40))
LIVE, DONE = "live-run", "done-run"
ENTER, ESCAPE, DOWN = b"\r", b"\x1b", b"\x1b[B"

WRITER = r"""
import json, os, signal, sys, time
from pathlib import Path
import psutil
run_dir = Path(sys.argv[1]); run_dir.mkdir(parents=True, exist_ok=True)
events, log = open(run_dir / "events.jsonl", "a"), open(run_dir / "log.txt", "a")
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
def write(event, **fields):
    events.write(json.dumps({"v": 1, "time": time.time(), "event": event, **fields}) + "\n")
    events.flush()
SPE = 30
write("start", name=run_dir.name, config="configs/digits.yaml", argv=["bench"], pid=os.getpid(),
      create_time=psutil.Process().create_time(), host=os.uname().nodename, world_size=1, devices="cpu",
      max_epochs=1000, steps_per_epoch=SPE, resumed_from=None, global_step=0, entry="train_pl")
step, began = 0, time.time()
while not stop:
    step += 1
    epoch, loss = (step - 1) // SPE, 2.0 / (1 + step * 0.01)
    left = (1000 * SPE - step) * 0.1
    write("step", epoch=epoch, step=step, metrics={"train/loss": loss}, samples_per_s=320.0, eta_s=left)
    log.write(f"epoch {epoch + 1} step {step} train/loss {loss:.4f} 320 samples/s\n"); log.flush()
    if step % SPE == 0:
        write("epoch", epoch=epoch, step=step, metrics={"train/loss": loss, "val/loss": loss * 1.1,
              "val/acc": 1 - loss / 3}, epoch_time_s=3.0, eta_s=left)
    time.sleep(0.1)
write("end", status="finished", elapsed_s=time.time() - began, error=None, reason=None)
"""


def write_finished(run_dir: Path) -> None:
    """A finished run of 20 epochs, 30 steps each, started a day ago."""
    run_dir.mkdir(parents=True)
    t0, lines = time.time() - 86_400, []

    def add(event: str, t: float, **fields: object) -> None:
        lines.append(json.dumps({"v": 1, "time": t, "event": event, **fields}))

    add("start", t0, name=run_dir.name, config="configs/digits.yaml", argv=["bench"], pid=1,
        create_time=0.0, host="bench", world_size=1, devices="cpu", max_epochs=20, steps_per_epoch=30,
        resumed_from=None, global_step=0, entry="train_pl")
    for step in range(1, 601):
        loss, t = 2.0 / (1 + step * 0.01), t0 + step * 0.1
        add("step", t, epoch=(step - 1) // 30, step=step, metrics={"train/loss": loss}, samples_per_s=320.0,
            eta_s=(600 - step) * 0.1)
        if step % 30 == 0:
            add("epoch", t, epoch=(step - 1) // 30, step=step,
                metrics={"train/loss": loss, "val/loss": loss * 1.1, "val/acc": 1 - loss / 3},
                epoch_time_s=3.0, eta_s=(600 - step) * 0.1)
    add("end", t0 + 60, status="finished", elapsed_s=60.0, error=None, reason=None)
    (run_dir / "events.jsonl").write_text("\n".join(lines) + "\n")
    (run_dir / "log.txt").write_text("".join(f"step {s}\n" for s in range(1, 601)))


class Terminal:
    """The TUI in a pseudo-terminal; `drain` reads (and counts) what it wrote."""

    def __init__(self, save_dir: Path, cols: int, rows: int) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal and stdio
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
            env.pop("NO_COLOR", None)
            os.chdir(REPO)
            os.execve(sys.executable, [sys.executable, "-m", "tui", "--save-dir", str(save_dir)], env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.pid, self.fd = pid, fd

    def drain(self, seconds: float, keep: list[bytes] | None = None) -> int:
        """Read for `seconds`; the number of bytes the app wrote meanwhile (appended to `keep`)."""
        total, end = 0, time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    break  # the app exited
                total += len(data)
                if keep is not None:
                    keep.append(data)
        return total

    def press(self, key: bytes, settle: float = 1.0) -> None:
        os.write(self.fd, key)
        self.drain(settle)

    def close(self) -> None:
        try:
            os.write(self.fd, b"q")
            self.drain(1.0)
        finally:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            os.close(self.fd)


def measure(cols: int, rows: int, window: float, settle: float, start_s: float,
            dump: Path | None = None) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="torchx-term-") as tmp:
        save_dir = Path(tmp) / "save"
        write_finished(save_dir / DONE)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(save_dir / LIVE)],
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        term = Terminal(save_dir, cols, rows)
        try:
            time.sleep(0.5)  # the writer's `start` first: the live run is the newest, the first row
            term.drain(start_s)

            def window_of(label: str) -> None:
                term.drain(settle)
                kept: list[bytes] = []
                rate = term.drain(window, kept) / window
                if dump is not None:
                    dump.mkdir(parents=True, exist_ok=True)
                    (dump / f"{cols}x{rows}-{label}.bin").write_bytes(b"".join(kept))
                figures[label] = round(rate)
                print(f"{cols}x{rows} {label}: {rate:,.0f} B/s", flush=True)

            window_of("table_live")
            term.press(b"\x1b[H", 0.3)  # home: the first row, the live run
            term.press(ENTER, 1.5)
            window_of("view_metrics")
            term.press(b"2")
            window_of("view_log")
            term.press(b"3")
            window_of("view_system")
            term.press(ESCAPE, 0.5)
            writer.send_signal(signal.SIGTERM)  # it writes `end` and exits: no run is live now
            writer.wait(10)
            term.drain(2.5)  # the table's scan sees the end
            term.press(b"\x1b[H", 0.3)
            term.press(DOWN, 0.3)  # the finished run
            term.press(ENTER, 1.5)
            window_of("view_settled")
            term.press(ESCAPE, 1.5)
            window_of("idle_after_view")
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
            term.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s windows (development)")
    parser.add_argument("--window-s", type=positive_float, default=20.0, help="seconds counted per screen")
    parser.add_argument("--size", choices=[f"{c}x{r}" for c, r in SIZES], action="append",
                        help="only this size (repeatable)")
    parser.add_argument("--dump", type=Path, help="write each window's bytes to DUMP/<size>-<screen>.bin")
    args = parser.parse_args()
    window = 5.0 if args.quick else args.window_s
    sizes = [s for s in SIZES if not args.size or f"{s[0]}x{s[1]}" in args.size]
    results = {f"{c}x{r}": measure(c, r, window, settle=1.0, start_s=4.0, dump=args.dump) for c, r in sizes}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
