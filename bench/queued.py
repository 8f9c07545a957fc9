"""The queue's costs, measured on this machine: how soon a queued run starts once its device frees, what
a waiting runner costs, and what 200 queued runs add to the table's start.

Run from the repository root: `.venv/bin/python bench/queued.py [--repeats 5] [--idle-s 20] [--rounds 7]`
(under two minutes on a 2-core machine; `--quick`: 2 repeats, 5 s windows, 2 rounds, about 40 s, to
check the bench itself). It prints one line per figure and, last, one JSON object with them all.
Every save dir holds 200 settled runs (`tests/tui/rundirs.py` `make_many`).

- `launch_after_free_*_s`, `start_after_free_*_s` (median and max of `--repeats`): with one CPU slot
  (`save/.queue/limits.json`), runs A and B are queued and a runner started with the queue tests'
  stand-in trainer (`tests/queue/quick_trainer.py`: no torch, it writes `start`, sleeps `QUICK_S`,
  writes `end`); from A's `end` event (its `time`) to B's `launched_at` in its `run.json`, and to B's
  `start` event. The runner polls at its default rate; A lives a random 1–2 s each time, so its end
  falls anywhere in the runner's poll period.
- `runner_waiting_cpu_percent`, `runner_waiting_rss_mib`: a runner whose one slot is held by a run it
  launched (the stand-in, living an hour) while 200 more runs wait behind it: its CPU time over
  `--idle-s` seconds of wall time (psutil), in percent of one core, and its RSS at the end.
  `runner_paused_*`: the same with the queue paused (the holder never launched, 201 runs waiting).
- `table_ready_*`, `table_filled_*`: the TUI's start to its first frame and to a table holding every
  row, measured as `bench/tui.py` does (a fresh headless app in a subprocess, its row cache warm),
  for the same 200 settled runs with no queue (`none`) and with 200 queued runs added (`queued`), plus
  a control with 200 more settled runs instead (`more`: the cost of 200 more rows of any kind). The
  arms alternate in a shuffled order each of `--rounds` rounds; each ratio is the median of the
  rounds' paired ratios, with their range. A held runner lock stands for a live runner (the TUI would
  otherwise start one, which would launch the queued runs).

Targets: a queued run launched < 2 s after its device frees; a waiting runner < 1 % of a core; the
table's start with 200 queued runs unchanged within noise.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "tui"))

from rundirs import make_many  # noqa: E402

from bench.args import positive_float, positive_int  # noqa: E402
from tests.conftest import DIGITS, wait_for  # noqa: E402
from tests.conftest import test_env as child_env  # noqa: E402
from torchx.events import read_events  # noqa: E402
from torchx.experiment import read_json  # noqa: E402
from tui.launch.request import LaunchRequest  # noqa: E402
from tui.queue import store  # noqa: E402
from tui.queue.devices import Limits, save_limits  # noqa: E402
from tui.queue.runner import RUNNER_ENTRY, RUNNER_LOCK, ensure_runner, runner_pid, try_lock  # noqa: E402


def _load_tui_bench() -> Any:
    """bench/tui.py as a module (`bench` is no package, and its file name is the TUI's)."""
    spec = importlib.util.spec_from_file_location("bench_tui", REPO / "bench" / "tui.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tui_bench = _load_tui_bench()

SETTLED = 200
QUEUED = 200
QUICK = REPO / "tests" / "queue" / "quick_trainer.py"
STAND_IN = (*RUNNER_ENTRY, "--trainer", f"{sys.executable} {QUICK}")
LIMIT_S = 120.0


def save_dir_with_runs(root: Path, name: str, settled: int = SETTLED) -> Path:
    save_dir = root / name
    make_many(save_dir, settled)
    return save_dir


def queue_runs(save_dir: Path, names: list[str]) -> None:
    for name in names:
        store.queue(LaunchRequest(REPO / DIGITS, name, save_dir))


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "events.jsonl"
    return read_events(path)[0] if path.exists() else []


def event_time(run_dir: Path, kind: str) -> float | None:
    return next((e["time"] for e in events_of(run_dir) if e["event"] == kind), None)


def start_runner(save_dir: Path, quick_s: float) -> int:
    pid = ensure_runner(save_dir, env={**child_env(), "QUICK_S": f"{quick_s:.3f}"}, entry=STAND_IN)
    if pid is None:
        raise RuntimeError(f"no runner started for {save_dir}")
    return pid


def end_process(pid: int | None) -> None:
    """SIGKILL one process this bench started (a runner or a trainer), and reap it when it is ours."""
    if not isinstance(pid, int) or pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # a trainer: its parent is the runner (or init), not this process


# ---- 1. a queued run's start after its device frees ----

def launch_delays(root: Path, repeats: int, rng: random.Random) -> list[tuple[float, float]]:
    """(A's end → B's launch, A's end → B's `start`) in seconds, once per repeat."""
    save_dir = save_dir_with_runs(root, "save-launch")
    save_limits(save_dir, Limits(cpu_slots=1))
    delays = []
    for i in range(repeats):
        a, b = save_dir / f"a-{i}", save_dir / f"b-{i}"
        queue_runs(save_dir, [a.name, b.name])
        start_runner(save_dir, quick_s=rng.uniform(1.0, 2.0))
        wait_for(lambda b=b: event_time(b, "end") and runner_pid(save_dir) is None, LIMIT_S,
                 f"{b.name} to end")
        a_end, b_start = event_time(a, "end"), event_time(b, "start")
        record = read_json(b / "run.json")
        assert a_end is not None and b_start is not None and record is not None
        delays.append((record["launched_at"] - a_end, b_start - a_end))
        print(f"  {i + 1}/{repeats}: launched {delays[-1][0]:.3f} s, started {delays[-1][1]:.3f} s after "
              "the slot freed", flush=True)
    return delays


# ---- 2. the runner's CPU and memory while it waits ----

def waiting_runner(root: Path, idle_s: float, paused: bool) -> tuple[float, float]:
    """(% of one core, RSS MiB) of a runner that keeps polling: its one slot held, 200 runs behind (or
    the queue paused)."""
    save_dir = save_dir_with_runs(root, "save-paused" if paused else "save-waiting")
    save_limits(save_dir, Limits(cpu_slots=1))
    queue_runs(save_dir, ["holder", *(f"waiting-{i:03d}" for i in range(QUEUED))])
    if paused:
        store.pause(save_dir)
    runner = start_runner(save_dir, quick_s=3600.0)
    holder = save_dir / "holder"
    try:
        if not paused:
            wait_for(lambda: event_time(holder, "start"), LIMIT_S, "the holder to start")
        time.sleep(3.0)  # its imports and first full read done: the figure is the steady state
        proc = psutil.Process(runner)
        before, t0 = proc.cpu_times(), time.monotonic()
        time.sleep(idle_s)
        after, t1 = proc.cpu_times(), time.monotonic()
        rss = proc.memory_info().rss / (1 << 20)
        assert runner_pid(save_dir) == runner, "the runner left or another took its place"
    finally:
        end_process(runner)
        end_process((read_json(holder / "run.json") or {}).get("pid"))
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (t1 - t0), rss


# ---- 3. the table's start with 200 queued runs ----

def table_arms(root: Path) -> dict[str, tuple[Path, int]]:
    """arm → (save dir, rows its table shows): the same 200 settled runs, with 200 queued runs added,
    or with 200 more settled ones."""
    none = save_dir_with_runs(root, "save-table-none")
    queued = save_dir_with_runs(root, "save-table-queued")
    queue_runs(queued, [f"queued-{i:03d}" for i in range(QUEUED)])
    more = save_dir_with_runs(root, "save-table-more", SETTLED + QUEUED)
    return {"none": (none, SETTLED), "queued": (queued, SETTLED + QUEUED), "more": (more, SETTLED + QUEUED)}


def hold_runner_lock(save_dir: Path) -> int:
    """Take the runner lock as a live runner would (this process's pid in it): the TUI starts none."""
    fd = try_lock(store.queue_dir(save_dir) / RUNNER_LOCK)
    if fd is None:
        raise RuntimeError(f"a runner already holds {save_dir}'s lock")
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def table_starts(root: Path, rounds: int, rng: random.Random) -> dict[str, list[dict[str, float]]]:
    """arm → one {ready, filled} per round, the arms in a shuffled order each round."""
    arms = table_arms(root)
    lock = hold_runner_lock(arms["queued"][0])
    try:
        for save_dir, rows in arms.values():  # the row cache written, the .pyc warm: a usual start
            tui_bench.measure(save_dir, rows, {"ready", "filled"}, linger_s=3.0)
        marks: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
        for i in range(rounds):
            order = list(arms)
            rng.shuffle(order)
            for arm in order:
                marks[arm].append(tui_bench.measure(*arms[arm], {"ready", "filled"}))
            print(f"  round {i + 1}/{rounds}: " + ", ".join(
                f"{arm} {marks[arm][-1]['ready']:.3f}/{marks[arm][-1]['filled']:.3f} s" for arm in arms),
                flush=True)
        return marks
    finally:
        os.close(lock)


def paired_ratios(marks: dict[str, list[dict[str, float]]], arm: str, base: str, key: str) -> list[float]:
    return [m[key] / b[key] for m, b in zip(marks[arm], marks[base], strict=True)]


# ---- the report ----

def report_delays(figures: dict[str, Any], delays: list[tuple[float, float]]) -> None:
    for i, what in enumerate(("launch", "start")):
        values = [d[i] for d in delays]
        figures[f"{what}_after_free_median_s"] = round(statistics.median(values), 3)
        figures[f"{what}_after_free_max_s"] = round(max(values), 3)
    print(f"queued run launched after its slot freed: {figures['launch_after_free_median_s']:.3f} s median, "
          f"{figures['launch_after_free_max_s']:.3f} s max (target < 2 s)", flush=True)
    print(f"queued run started (its `start` event) after its slot freed: "
          f"{figures['start_after_free_median_s']:.3f} s median, "
          f"{figures['start_after_free_max_s']:.3f} s max", flush=True)


def report_runner(figures: dict[str, Any], paused: bool, idle_s: float, usage: tuple[float, float]) -> None:
    state = "paused" if paused else "waiting"
    cpu, rss = usage
    figures[f"runner_{state}_cpu_percent"], figures[f"runner_{state}_rss_mib"] = round(cpu, 3), round(rss, 1)
    print(f"runner {state} ({'queue paused' if paused else 'its slot held'}, {QUEUED} runs queued, {SETTLED} "
          f"settled): {cpu:.3f} % of a core over {idle_s:g} s (target < 1 %), RSS {rss:.1f} MiB", flush=True)


def report_table(figures: dict[str, Any], marks: dict[str, list[dict[str, float]]]) -> None:
    for key in ("ready", "filled"):
        for arm in marks:
            figures[f"table_{key}_{arm}_s"] = round(statistics.median(m[key] for m in marks[arm]), 3)
        for arm, base in (("queued", "none"), ("queued", "more")):
            ratios = paired_ratios(marks, arm, base, key)
            name = f"table_{key}_{arm}_vs_{base}"
            figures[name] = round(statistics.median(ratios), 3)
            figures[f"{name}_range"] = [round(min(ratios), 3), round(max(ratios), 3)]
        what = "first paint" if key == "ready" else "a full table"
        print(f"TUI start to {what}: {figures[f'table_{key}_none_s']:.3f} s with {SETTLED} runs, "
              f"{figures[f'table_{key}_queued_s']:.3f} s with {QUEUED} queued added "
              f"(×{figures[f'table_{key}_queued_vs_none']:.3f}, rounds "
              f"{_span(figures[f'table_{key}_queued_vs_none_range'])}), "
              f"{figures[f'table_{key}_more_s']:.3f} s with {QUEUED} settled added instead "
              f"(queued ×{figures[f'table_{key}_queued_vs_more']:.3f} of it, rounds "
              f"{_span(figures[f'table_{key}_queued_vs_more_range'])})", flush=True)


def _span(pair: list[float]) -> str:
    return f"{pair[0]:.3f}–{pair[1]:.3f}"


def ended_by_id(root: Path) -> None:
    """Whatever this bench started and left behind (a runner or trainer of a save dir under `root`,
    should a figure fail midway), killed by its pid."""
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid != os.getpid() and str(root) in " ".join(proc.info["cmdline"] or []):
            end_process(proc.pid)


def announce(what: str, figure: Callable[[], Any]) -> Any:
    print(f"{what} ...", flush=True)
    return figure()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--idle-s", type=positive_float, default=20.0)
    parser.add_argument("--rounds", type=positive_int, default=7)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--quick", action="store_true", help="2 repeats, 5 s windows, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.idle_s, args.rounds = 2, 5.0, 2
    rng = random.Random(args.seed)
    os.chdir(REPO)  # the runner and the TUI run from the repository, as a user's would
    root = Path(tempfile.mkdtemp(prefix="queue-bench-"))
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")  # the TUI's row cache, not the user's
    figures: dict[str, Any] = {}
    try:
        report_delays(figures, announce("a queued run's start after its slot frees",
                                     lambda: launch_delays(root, args.repeats, rng)))
        for paused in (False, True):
            report_runner(figures, paused, args.idle_s, announce(
                f"the runner, {'paused' if paused else 'waiting'}",
                lambda p=paused: waiting_runner(root, args.idle_s, p)))
        report_table(figures, announce("the table's start", lambda: table_starts(root, args.rounds, rng)))
        figures.update(repeats=args.repeats, idle_s=args.idle_s, rounds=args.rounds, settled=SETTLED,
                       queued=QUEUED, quick=args.quick, cpus=os.cpu_count() or 0,
                       load_avg=[round(x, 2) for x in os.getloadavg()])
        print(json.dumps(figures))
    finally:
        ended_by_id(root)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
