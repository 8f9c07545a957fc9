"""Writes a run's story twice: `events.jsonl` for programs (the TUI) and `log.txt` for people.

Both entries drive one `RunRecorder`; it is torch-free and only global rank 0 makes one that writes
(`enabled=False` on other ranks turns every call into a no-op). log.txt is for people: a line that
cannot be written (a full disk) is reported once on stderr and training goes on. The `end` event is
written before the log's last lines, so a run that cannot log still ends its story.
"""

from __future__ import annotations

import datetime
import os
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import psutil

from torchx.eta import EtaEstimator
from torchx.events import EventWriter, append_whole
from torchx.experiment import EVENTS_FILE, LOG_FILE


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return str(datetime.timedelta(seconds=round(seconds)))


def fmt_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))


class RunRecorder:
    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.run_dir, self.enabled = run_dir, enabled
        self.events: EventWriter | None = EventWriter(run_dir / EVENTS_FILE) if enabled else None
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self._log: int | None = os.open(run_dir / LOG_FILE, flags, 0o666) if enabled else None
        self._reported: set[str] = set()
        self.eta: EtaEstimator | None = None
        self.started = self.ended = False
        self._t0 = time.time()
        self._last_step_time: tuple[int, float] | None = None
        self.epochs_done = 0

    def log(self, text: str) -> None:
        if self._log is None:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        lines = "".join(f"[{stamp}] {line}\n" for line in text.rstrip("\n").splitlines() or [""])
        try:
            append_whole(self._log, lines.encode("utf-8"))
        except OSError as exc:
            self._report(LOG_FILE, exc)

    def _report(self, name: str, exc: OSError) -> None:
        """One line on stderr the first time a file of the run cannot be written."""
        if name not in self._reported:
            self._reported.add(name)
            print(f"torchx: cannot write {self.run_dir / name}: {exc.strerror or exc}", file=sys.stderr,
                  flush=True)

    def start(self, *, name: str, config_path: str, argv: list[str], world_size: int, devices: Any,
              max_epochs: int, steps_per_epoch: int, global_step: int, epochs_done: int,
              resumed_from: str | None, versions: dict[str, str], config_text: str, entry: str) -> None:
        self.started, self._t0, self.epochs_done = True, time.time(), epochs_done
        self.eta = EtaEstimator(total_steps=max_epochs * steps_per_epoch, total_epochs=max_epochs)
        self.eta.begin(global_step)
        self._last_step_time = (global_step, time.perf_counter())
        if not self.enabled or self.events is None:
            return
        pid = os.getpid()
        self.events.write(
            "start", name=name, config=config_path, argv=argv, pid=pid,
            create_time=psutil.Process(pid).create_time(), boot_time=psutil.boot_time(),
            host=socket.gethostname(),
            world_size=world_size, devices=devices, max_epochs=max_epochs, steps_per_epoch=steps_per_epoch,
            resumed_from=resumed_from, global_step=global_step, versions=versions, entry=entry,
        )
        what = f"resumed from {resumed_from} at step {global_step}" if resumed_from else "started"
        self.log(f"run {name} {what}: {world_size} process(es) on {devices}, {max_epochs} epochs "
                 f"x {steps_per_epoch} steps, pid {pid}\ncommand: {' '.join(argv)}\nconfig:\n{config_text}")

    def train_progress(self, step: int) -> None:
        """Cheap per-step hook (no I/O): feeds the ETA estimator."""
        if self.eta is not None:
            self.eta.train_progress(step)

    def validation_done(self, seconds: float) -> None:
        if self.eta is not None:
            self.eta.validation_done(seconds)

    def current_eta(self, step: int) -> float | None:
        return None if self.eta is None else self.eta.eta(step, self.epochs_done)

    def step(self, epoch: int, step: int, metrics: dict[str, float], samples: int) -> None:
        """A `step` event: metrics, throughput since the last one and the ETA."""
        now = time.perf_counter()
        last_step, last_time = self._last_step_time or (step, now)
        self._last_step_time = (step, now)
        rate = samples * (step - last_step) / (now - last_time) if now > last_time else None
        if self.events is not None:
            self.events.write("step", epoch=epoch, step=step, metrics=metrics, samples_per_s=rate,
                              eta_s=self.current_eta(step))

    def epoch(self, epoch: int, step: int, metrics: dict[str, float], epoch_time_s: float,
              max_epochs: int) -> None:
        self.epochs_done = epoch + 1
        eta = self.current_eta(step)
        if self.events is not None:
            self.events.write("epoch", epoch=epoch, step=step, metrics=metrics, epoch_time_s=epoch_time_s,
                              eta_s=eta)
        self.log(f"epoch {epoch + 1}/{max_epochs} step {step} {fmt_metrics(metrics)} "
                 f"time {epoch_time_s:.1f}s elapsed {fmt_duration(self.elapsed_s())} "
                 f"eta {fmt_duration(eta)}")

    def elapsed_s(self) -> float:
        """Seconds since this process's `start`."""
        return time.time() - self._t0

    def ckpt(self, path: str, epoch: int, step: int, monitor: str | None, value: float | None) -> None:
        if self.events is not None:
            self.events.write("ckpt", path=path, epoch=epoch, step=step, monitor=monitor, value=value)
        shown = f" {monitor}={value:.4g}" if monitor and value is not None else ""
        self.log(f"checkpoint {path} (epoch {epoch + 1}, step {step}){shown}")

    def test(self, ckpt: str, metrics: dict[str, float]) -> None:
        """A `test` event: a checkpoint's metrics on the test split (`python -m torchx.evaluate`)."""
        if self.events is not None:
            self.events.write("test", ckpt=ckpt, metrics=metrics)
        self.log(f"test {ckpt}: {fmt_metrics(metrics)}")

    def end(self, status: str, error: BaseException | None = None, reason: str | None = None) -> None:
        """The one `end` event of this start; later calls are ignored."""
        if self.ended or not self.started:
            return
        self.ended = True
        elapsed = self.elapsed_s()
        err = None
        if error is not None:
            tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            err = {"type": type(error).__name__, "message": str(error), "traceback": tb}
        if self.events is not None:
            try:
                self.events.write("end", status=status, elapsed_s=elapsed, error=err, reason=reason)
            except OSError as exc:
                self._report(EVENTS_FILE, exc)
        if err is not None:
            self.log(f"error: {err['type']}: {error}\n{err['traceback']}")
        self.log(f"end: {status}{f' ({reason})' if reason else ''} after {fmt_duration(elapsed)}")
        self.close()

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
        if self._log is not None:
            os.close(self._log)
            self._log = None
