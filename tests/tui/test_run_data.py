"""The run view's data: bounded metric series, best/latest, progress and ETA, fast open of big files."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from rundirs import T0, epoch_events, start_event, write_events

from tui.live import loader as run_loader
from tui.live.data import RunData, metric_mode, predicted_total_s, progress
from tui.live.loader import RunLoader
from tui.live.logtail import LogTail, find
from tui.live.series import Series, thin
from tui.run.files import checkpoints, monitor_from_config, reproduce


def test_series_stays_bounded_over_a_million_points() -> None:
    series = Series("min", capacity=512)
    for i in range(1_000_000):
        series.add(float(i), 1.0 / (i + 1) + (5.0 if i == 123_456 else 0.0), i // 1000)
    xs, ys = series.points()
    assert len(xs) <= 512 and series.count == 1_000_000 and series.width == 2048
    assert max(len(series._xs), len(series._ys), len(series._mins), len(series._maxs), len(series._ns)) < 512
    assert xs == sorted(xs) and xs[0] < 2048 and xs[-1] > 998_000
    assert series.latest is not None and series.latest.x == 999_999.0
    assert series.best is not None and series.best.x == 999_999.0  # exact, not bucketed
    mins, maxs = series.envelope()
    assert max(maxs) > 5.0  # the one spike survives downsampling in the envelope
    assert abs(sum(ys) / len(ys) - sum(1.0 / (i + 1) for i in range(0, 10**6, 997)) / 1004) < 0.05


def test_series_best_respects_mode_and_skips_nan() -> None:
    acc = Series("max", capacity=4)
    for i, v in enumerate([0.5, 0.9, math.nan, 0.7]):
        acc.add(i, v, i)
    assert acc.best is not None and (acc.best.y, acc.best.epoch) == (0.9, 1)
    assert acc.latest is not None and acc.latest.y == 0.7 and len(acc.points()[0]) == 3
    assert thin(list(range(10)), list(range(10)), 5) == ([0.5, 2.5, 4.5, 6.5, 8.5], [0.5, 2.5, 4.5, 6.5, 8.5])


def test_metric_mode() -> None:
    assert metric_mode("val/acc") == "max" and metric_mode("val/loss") == "min"
    assert metric_mode("val/err", "val/err", "max") == "max"


def test_run_data_folds_metrics_checkpoints_and_progress() -> None:
    data = RunData()
    data.feed([start_event("r", T0, max_epochs=10), *epoch_events(0, 4, T0, dt=10.0, max_epochs=10)])
    data.feed([{"v": 1, "time": T0 + 41, "event": "step", "epoch": 4, "step": 85,
                "metrics": {"train/loss": 0.2}, "samples_per_s": 640.0, "eta_s": 120.0}])
    rows = {r.label: r for r in data.metric_rows()}
    assert list(rows)[:2] == ["val/acc", "val/loss"]
    assert rows["val/acc"].best.y == 0.62 and rows["val/acc"].best.epoch == 3
    assert rows["train/loss (epoch)"].best.y == 0.25 and rows["train/loss"].latest.y == 0.2
    assert data.ckpts["ckpt/last.ckpt"]["epoch"] == 3 and data.monitor == "val/acc"
    p = progress(data.summary, "running", now=T0 + 51)
    assert (p.epoch, p.step, p.total_steps, p.fraction) == (4, 85, 200, 0.425)
    assert p.eta_s == 110.0 and p.finish_at == T0 + 161 and p.elapsed_s == 51.0
    assert p.samples_per_s == 640.0
    assert progress(data.summary, "lost", now=T0 + 51).eta_s is None


def test_predicted_total_at_ten_percent() -> None:
    events = [start_event("r", T0, max_epochs=10)]
    events += [{"time": T0 + s, "event": "step", "step": s, "epoch": 0, "eta_s": 200.0 - s}
               for s in (10, 20, 30)]
    assert predicted_total_s(events, 0.1) == (20.0, 200.0)


def write_big(path: Path, steps: int, spe: int = 1000) -> None:
    write_events(path, [start_event("big", T0, max_epochs=10**6) | {"steps_per_epoch": spe}])
    with open(path, "a") as f:
        for s in range(1, steps + 1):
            f.write(json.dumps({"v": 1, "time": T0 + s, "event": "step", "epoch": (s - 1) // spe,
                                "step": s, "metrics": {"train/loss": 1.0 / s}, "eta_s": 1e6 - s,
                                "pad": "x" * 80}) + "\n")
            if s % spe == 0:
                e = s // spe - 1
                f.write(json.dumps({"v": 1, "time": T0 + s, "event": "epoch", "epoch": e, "step": s,
                                    "metrics": {"val/acc": 0.5 + (0.3 if e == 17 else 0.0)}}) + "\n")


def test_sparse_open_then_backfill_matches_a_full_read(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "events.jsonl"
    write_big(path, 60_000)
    monkeypatch.setattr(run_loader, "FULL_READ_BYTES", 1 << 20)
    monkeypatch.setattr(run_loader, "TAIL_BYTES", 256 << 10)
    monkeypatch.setattr(run_loader, "HEAD_BYTES", 64 << 10)
    loader = RunLoader(path)
    t = time.perf_counter()
    fast = loader.open()
    assert time.perf_counter() - t < 2.0 and loader.sparse and loader.backfilling
    assert fast.summary.step == 60_000 and fast.summary.max_epochs == 10**6
    assert 0 < fast.series["val/acc"].count < 60  # only the tail's epochs so far
    with open(path, "a") as f:  # the run goes on while the backfill runs
        f.write(json.dumps({"v": 1, "time": T0 + 60_001, "event": "step", "epoch": 60, "step": 60_001,
                            "metrics": {"train/loss": 0.001}}) + "\n")
    loader.finish_backfill()
    data = loader.data
    assert data.series["val/acc"].count == 60 and data.series["val/acc"].best.epoch == 17
    assert data.summary.step == 60_001 and data.summary.starts == 1
    assert 900 < data.series["train/loss"].count < 60_001  # probes + tail, not every line
    xs, _ = data.series["train/loss"].points()
    assert xs == sorted(xs) and xs[0] < 100 and xs[-1] > 59_000


def test_small_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_big(path, 3000)
    loader = RunLoader(path)
    data = loader.open()
    assert not loader.sparse and data.series["train/loss"].count == 3000
    assert data.series["val/acc"].count == 3


def test_logtail_follows_by_offset_and_holds_torn_lines(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(b"".join(b"old %d\n" % i for i in range(10_000)))
    tail = LogTail(path, max_lines=100, start_bytes=1000)
    first = tail.poll()
    assert first[-1] == "old 9999" and all(line.startswith("old ") for line in first) and len(first) < 200
    assert tail.bytes_read <= 1000
    with open(path, "ab") as f:
        f.write(b"Epoch 1: 10%\rEpoch 1: 50%\rEpoch 1: 100%\nTraceback (most rec")
    assert tail.poll() == ["Epoch 1: 100%"]
    with open(path, "ab") as f:
        f.write(b"ent call last):\n\xff bad utf8\n")
    assert tail.poll() == ["Traceback (most recent call last):",
                           "\ufffd bad utf8"]
    assert len(tail.lines) == 100
    path.write_bytes(b"new\n")
    assert tail.poll() == ["new"] and "truncated" in tail.lines[-2]
    lines = ["a", "Error x", "b", "error y"]
    assert find(lines, "ERROR", 1) == 3 and find(lines, "error", 3) == 1
    assert find(lines, "error", 1, backwards=True) == 3
    assert find(lines, "zzz", 0) is None


def test_run_files(tmp_path: Path) -> None:
    run = tmp_path / "r"
    (run / "ckpt").mkdir(parents=True)
    (run / "src").mkdir()
    (run / "ckpt" / "best-epoch=3-step=80.ckpt").write_bytes(b"x" * 100)
    (run / "ckpt" / "last.ckpt").write_bytes(b"x" * 50)
    (run / "src" / "git.json").write_text(json.dumps({"commit": "abc123", "dirty": True}))
    argv = [sys.executable, "-m", "torchx.train_pl", "--name", "r b"]
    (run / "run.json").write_text(json.dumps({"argv": argv}))
    events = {"ckpt/last.ckpt": {"time": time.time() + 5, "epoch": 4, "step": 100, "monitor": "val/acc",
                                 "value": 0.9}}
    found = {c.name: c for c in checkpoints(run, events)}
    assert (found["last.ckpt"].epoch, found["last.ckpt"].value, found["last.ckpt"].size) == (4, 0.9, 50)
    assert (found["best-epoch=3-step=80.ckpt"].epoch, found["best-epoch=3-step=80.ckpt"].step) == (3, 80)
    card = reproduce(run)
    assert card.command.endswith("--name 'r b'") and card.commit == "abc123" and card.dirty is True
    assert card.snapshot == str(run / "src") and "--resume r" in card.resume_command
    assert monitor_from_config("checkpoint:\n  monitor: val/loss\n  mode: min\n") == ("val/loss", "min")
    assert monitor_from_config(": [") == (None, None)
