"""torchx-tui's start-up, table fill and idle CPU, measured on this machine.

Run from the repository root: `.venv/bin/python bench/tui.py [--runs 4] [--idle-s 10]` (about a minute
and a half on a 2-core machine). It prints one line per figure and, last, one JSON object with them all.

- `start_s`: from spawning `python -m tui`-equivalent (a fresh interpreter that imports `tui.app` and
  starts the app, headless) to its first frame (Textual's `Ready` event), with an empty save dir.
- `fill_1000_s`, `fill_10000_s`: from spawning to the moment the table holds every row, for 1,000 and
  10,000 generated run directories (finished, stopped and failed runs with a few epochs each), when the
  TUI has seen the save dir before (its row cache); `fill_*_first_s`: the first time, every
  `events.jsonl` read and folded (by `tui.table.fold_workers` processes, one per core, for 10,000 runs).
  Each the median of three starts.
- `diff_open_s`: from `d` on two marked runs to the diff screen painted with their differences (configs
  three keys apart, `src/` snapshots of the whole `torchx/` package with one file edited), in a headless
  app in this process; the first open, so the diff screen's lazy import is included.
- `idle_cpu_percent`: the TUI process's CPU time over `--idle-s` seconds of wall time, in percent of one
  core, while `--runs` real `torchx.train_pl` runs of the shipped digits config train in its save dir.
- `filter_configs_10000_s`: from typing the first `cfg.` filter to every run's `config.yaml` read (the
  table reads no config until a filter names a config key; the row cache keeps them after).
- `filter_10000_ms`: the median time per keystroke of the filter (`/`) over 10,000 runs with a
  `config.yaml` each, editing a learning-rate filter (`cfg.<key><1`, `<1e`, `<1e-`, `<1e-3`, ...; 2,500
  to 10,000 matches): parse, match, rebuild the table, repaint; the debounce excluded.

Targets: start < 0.5 s, 10,000 runs < 2 s, idle CPU < 5 % of a core, filter < 200 ms per keystroke.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
REPEATS = 3
"""Starts measured per fill figure (the median is printed): a shared VM's timings drift by tens of %."""
if sys.path and Path(sys.path[0] or ".").resolve() == REPO / "bench":
    sys.path[0] = str(REPO)  # `python bench/tui.py` puts bench/ first, where this file shadows `tui`
sys.path.insert(0, str(REPO / "tests" / "tui"))

from bench.args import positive_float, positive_int  # noqa: E402

CHILD = """
import sys, time
from pathlib import Path
spawned, save_dir, expected = float(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
from tui.app import TorchxApp
from tui.settings import Settings
from tui.widgets.runs_table import RunsTable

marks = {}
apply = RunsTable.apply

def timed_apply(self, changed, removed):
    apply(self, changed, removed)
    if "filled" not in marks and self.row_count >= expected:
        marks["filled"] = time.time() - spawned
        print(f"filled {marks['filled']:.4f}", flush=True)

RunsTable.apply = timed_apply

class Timed(TorchxApp):
    def on_ready(self) -> None:
        print(f"ready {time.time() - spawned:.4f}", flush=True)

Timed(Settings(save_dir=save_dir)).run(headless=True)
"""


def spawn_tui(save_dir: Path, expected: int) -> tuple[subprocess.Popen[str], float]:
    spawned = time.time()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, repr(spawned), str(save_dir), str(expected)],
                            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    return proc, spawned


def read_marks(proc: subprocess.Popen[str], wanted: set[str], timeout: float = 60.0) -> dict[str, float]:
    marks: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while not wanted <= marks.keys():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the TUI did not report {wanted - marks.keys()}")
        line = proc.stdout.readline()
        key, _, value = line.partition(" ")
        if value:
            marks[key] = float(value)
    return marks


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(save_dir: Path, expected: int, wanted: set[str], linger_s: float = 0.0) -> dict[str, float]:
    proc, _ = spawn_tui(save_dir, expected)
    try:
        marks = read_marks(proc, wanted)
        time.sleep(linger_s)  # lets the scan worker finish writing the row cache
        return marks
    finally:
        stop(proc)


def fill_times(root: Path, count: int, cache_dir: Path) -> tuple[float, float]:
    """(first start on this save dir, a later start with the row cache): seconds to a full table, the
    median of `REPEATS` starts each."""
    from rundirs import make_many

    save_dir = root / f"save-{count}"
    make_many(save_dir, count)
    os.sync()
    list(save_dir.iterdir())
    for run in save_dir.iterdir():  # warm the page cache: the figure is the TUI, not the disk
        (run / "events.jsonl").read_bytes()
    colds, warms = [], []
    for _ in range(REPEATS):
        shutil.rmtree(cache_dir, ignore_errors=True)
        colds.append(measure(save_dir, count, {"filled"}, linger_s=3.0)["filled"])
        warms.append(measure(save_dir, count, {"filled"})["filled"])
    return statistics.median(colds), statistics.median(warms)


def diff_open_time(root: Path) -> float:
    from diff_dirs import make_pair

    save_dir = root / "save-diff"
    a, b = make_pair(save_dir)
    for run in (a, b):
        shutil.copytree(REPO / "torchx", run / "src" / "torchx", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    edited = b / "src" / "torchx" / "config.py"
    edited.write_text(edited.read_text().replace("def ", "def  ", 1))
    return asyncio.run(_time_diff(save_dir))


async def _time_diff(save_dir: Path) -> float:
    from tui.app import TorchxApp
    from tui.settings import Settings
    from tui.widgets.runs_table import RunsTable

    app = TorchxApp(Settings(save_dir=save_dir, live=False, cache_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        while app.screen.query(RunsTable).first().row_count < 2:
            await pilot.pause(0.01)
        await pilot.press("space", "down", "space")
        start = time.perf_counter()
        await pilot.press("d")
        while getattr(app.screen, "diff", None) is None:
            await pilot.pause(0.002)
        await pilot.pause()  # the frame with the differences
        return time.perf_counter() - start


def idle_cpu(root: Path, runs: int, idle_s: float) -> float:
    save_dir = root / "save-live"
    save_dir.mkdir()
    trainers = []
    for i in range(runs):
        argv = [sys.executable, "-m", "torchx.train_pl", "--config", "configs/digits-classification.yaml",
                "--name", f"live-{i}", "--save-dir", str(save_dir), "--gpu", "cpu",
                "trainer_params.max_epochs=100000"]
        log = open(root / f"live-{i}.log", "wb")
        trainers.append(subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True))
    try:
        wait_started(save_dir, runs)
        proc, _ = spawn_tui(save_dir, runs)
        try:
            read_marks(proc, {"filled"})
            tui = psutil.Process(proc.pid)
            time.sleep(1.0)
            before, t0 = tui.cpu_times(), time.monotonic()
            time.sleep(idle_s)
            after, t1 = tui.cpu_times(), time.monotonic()
        finally:
            stop(proc)
    finally:
        for trainer in trainers:
            os.killpg(trainer.pid, signal.SIGKILL)
            trainer.wait()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (t1 - t0)


FILTER_CHILD = """
import asyncio, statistics, sys, time
from pathlib import Path
from tui.app import TorchxApp
from tui.settings import Settings
from tui.widgets.filter_bar import FilterBar
from tui.widgets.runs_table import RunsTable

save_dir, count, lines = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].splitlines()

async def typing():
    app = TorchxApp(Settings(save_dir=save_dir, cache_dir=save_dir.parent / "filter-cache"))
    times = []
    async with app.run_test(size=(80, 24)) as pilot:
        table, bar = app.screen.query_one(RunsTable), app.screen.query_one(FilterBar)
        while table.row_count < count:
            await pilot.pause(0.1)
        start = time.perf_counter()  # the first cfg. filter has every config.yaml read, once
        bar.input.value = lines[0]
        bar.apply_now()
        while sum(row.cfg is not None for row in table.runs.values()) < count:
            await pilot.pause(0.05)
        print(f"configs {time.perf_counter() - start:.3f}", flush=True)
        for line in lines:
            start = time.perf_counter()
            with bar.input.prevent(bar.input.Changed):
                bar.input.value = line
            bar.apply_now()
            await pilot.pause()  # the table rebuilt and repainted
            assert table.run_filter.text == line, line
            times.append(1000 * (time.perf_counter() - start))
    return times

print(f"keystroke {statistics.median(asyncio.run(typing()))}")
"""


def filter_times(root: Path, count: int = 10000) -> tuple[float, float]:
    """(seconds for the first `cfg.` filter to have every config.yaml read, median ms per keystroke of
    the filter after that, its debounce excluded), typed into a headless app."""
    from rundirs import make_many

    from torchx.config import dump_config, load_config

    save_dir = root / "save-filter"
    make_many(save_dir, count)
    config = load_config(REPO / "configs" / "digits-classification.yaml")
    for i, run in enumerate(sorted(save_dir.iterdir())):
        config["train_wrapper"]["args"]["optim_spec"]["args"]["lr"] = 10.0 ** -(2 + i % 4)
        (run / "config.yaml").write_text(dump_config(config))
    key = "cfg.train_wrapper.args.optim_spec.args.lr"
    edits = ("<1", "<1e", "<1e-", "<1e-3", "<1e-", "<1e-2", "<1e-", "<1e-4", ">1e-4", ">=1e-4", "=1e-4",
             "!=1e-4")
    lines = "\n".join(key + edit for edit in edits)
    out = subprocess.run([sys.executable, "-c", FILTER_CHILD, str(save_dir), str(count), lines], cwd=REPO,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True, timeout=600)
    lines = out.stdout.splitlines()
    marks = dict(line.split() for line in lines if line.startswith(("configs", "keystroke")))
    return float(marks["configs"]), float(marks["keystroke"])


def wait_started(save_dir: Path, runs: int, timeout: float = 180.0) -> None:
    """Until every run has written its first epoch (imports on a busy machine take a while)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = sum('"epoch"' in (p / "events.jsonl").read_text() for p in save_dir.iterdir()
                   if (p / "events.jsonl").exists())
        if done >= runs:
            return
        time.sleep(0.5)
    raise RuntimeError("the training runs did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=positive_int, default=4)
    parser.add_argument("--idle-s", type=positive_float, default=10.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tui-bench-"))
    cache_dir = root / "cache"
    os.environ["XDG_CACHE_HOME"] = str(cache_dir)  # the children's row cache, not the user's
    cache_dir = cache_dir / "torchx-tui"
    try:
        empty = root / "save-empty"
        empty.mkdir()
        measure(empty, 0, {"ready"})  # warm the import caches (.pyc): a second start is the usual one
        starts = sorted(measure(empty, 0, {"ready"})["ready"] for _ in range(3))
        figures = {"start_s": round(starts[1], 3)}
        print(f"cold start to first paint: {figures['start_s']:.3f} s (median of 3)", flush=True)
        for count in (1000, 10000):
            cold, warm = fill_times(root, count, cache_dir)
            figures[f"fill_{count}_first_s"], figures[f"fill_{count}_s"] = round(cold, 3), round(warm, 3)
            print(f"table filled with {count} runs: {warm:.3f} s ({cold:.3f} s the first time, "
                  "before the row cache exists)", flush=True)
        figures["diff_open_s"] = round(diff_open_time(root), 3)
        print(f"diff of two runs opened: {figures['diff_open_s']:.3f} s", flush=True)
        configs_s, keystroke_ms = filter_times(root)
        figures["filter_configs_10000_s"] = round(configs_s, 3)
        figures["filter_10000_ms"] = round(keystroke_ms, 1)
        print(f"first cfg. filter over 10,000 runs: {configs_s:.3f} s to read every config.yaml", flush=True)
        print(f"filter 10,000 runs by a config key: {figures['filter_10000_ms']:.1f} ms per keystroke "
              "(median)", flush=True)
        figures["idle_cpu_percent"] = round(idle_cpu(root, args.runs, args.idle_s), 2)
        print(f"TUI CPU while {args.runs} runs train: {figures['idle_cpu_percent']:.2f} % of a core",
              flush=True)
        figures.update(runs=args.runs, idle_s=args.idle_s, cpus=os.cpu_count() or 0)
        print(json.dumps(figures))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
