"""Run-view figures: open a 1 GB events.jsonl, follow a run writing 100 events/s.

    python bench/tail.py [--size-gb 1] [--follow-s 20]

1. open: a fresh process opens a run whose `events.jsonl` is `--size-gb` GB (millions of step events)
   as the view does (`RunWatch.poll`: events, logs, status, checkpoints) — time to the first full
   snapshot, and the process's peak RSS (targets: < 1 s, < 200 MB).
2. follow: the app, headless, shows the run view of a run a writer process feeds at 100 events/s;
   CPU time of the whole app process (UI, workers, NVML sampler) over `--follow-s` seconds
   (target: < 10% of one core).

The ETA the view shows is measured on real-length runs by `bench/eta.py`.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.args import positive_float  # noqa: E402

WRITER = r"""
import json, sys, time
path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
t0 = time.time()
with open(path, "a", buffering=1) as f:
    f.write(json.dumps({"v": 1, "time": t0, "event": "start", "name": "follow", "config": "c.yaml",
                        "argv": [], "pid": 0, "host": "bench", "world_size": 1, "devices": "cpu",
                        "max_epochs": 1000, "steps_per_epoch": 100, "resumed_from": None}) + "\n")
    i = 0
    while time.time() - t0 < seconds:
        i += 1
        now = time.time()
        f.write(json.dumps({"v": 1, "time": now, "event": "step", "epoch": i // 100, "step": i,
                            "metrics": {"train/loss": 1.0 / i, "train/lr": 0.001},
                            "samples_per_s": 6400.0, "eta_s": 1000.0}) + "\n")
        if i % 100 == 0:
            f.write(json.dumps({"v": 1, "time": now, "event": "epoch", "epoch": i // 100 - 1, "step": i,
                                "metrics": {"val/loss": 1.0 / i, "val/acc": 0.5}, "eta_s": 1000.0}) + "\n")
        time.sleep(max(0.0, t0 + i / rate - time.time()))
"""


def write_big(path: Path, size: int) -> int:
    """A run of `size` bytes: one start, step events, an epoch event every 1000 steps."""
    t0, spe = 1_795_000_000.0, 1000
    head = {"v": 1, "time": t0, "event": "start", "name": "big", "config": "configs/x.yaml", "argv": [],
            "pid": 1, "host": "bench", "world_size": 1, "devices": "cpu", "max_epochs": 100_000,
            "steps_per_epoch": spe, "resumed_from": None}
    written, step, block = 0, 0, []
    with open(path, "w") as f:
        f.write(json.dumps(head) + "\n")
        while written < size:
            step += 1
            t = t0 + step * 0.05
            block.append(f'{{"v": 1, "time": {t:.3f}, "event": "step", "epoch": {step // spe}, '
                         f'"step": {step}, "metrics": {{"train/loss": {1.0 / (1 + step * 1e-4):.6f}, '
                         f'"train/lr": 0.001}}, '
                         f'"samples_per_s": 1280.0, "eta_s": {(10**8 - step) * 0.05:.1f}}}\n')
            if step % spe == 0:
                block.append(f'{{"v": 1, "time": {t:.3f}, "event": "epoch", "epoch": {step // spe - 1}, '
                             f'"step": {step}, "metrics": {{"val/loss": {1.0 / (1 + step * 1e-4):.6f}, '
                             f'"val/acc": 0.9}}, "epoch_time_s": 50.0, "eta_s": 1.0}}\n')
            if len(block) >= 10_000:
                data = "".join(block)
                f.write(data)
                written += len(data)
                block = []
        f.write("".join(block))
    return step


def open_figures(run_dir: Path) -> dict[str, float]:
    """In a fresh process: seconds to the first snapshot, peak RSS, RSS before opening."""
    code = f"""
import json, resource, time
from pathlib import Path
import psutil
from tui.live.watch import RunWatch
before = psutil.Process().memory_info().rss
t = time.perf_counter()
watch = RunWatch(Path({str(run_dir)!r}))
snapshot, logs = watch.poll(time.time(), force=True)
seconds = time.perf_counter() - t
assert snapshot is not None and snapshot.progress.step
peak_open = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t = time.perf_counter()
watch.loader.finish_backfill()
backfill = time.perf_counter() - t
print(json.dumps({{"open_s": seconds, "rss_before_mb": before / 2**20,
                  "peak_rss_open_mb": peak_open / 2**20, "backfill_s": backfill,
                  "peak_rss_after_backfill_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "step": snapshot.progress.step,
                  "points": sum(len(v[0]) for v in snapshot.series.values())}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


async def follow_cpu(save: Path, seconds: float) -> dict[str, float]:
    """CPU time of this process while its headless app shows a run written at 100 events/s."""
    from tui.app import TorchxApp
    from tui.screens.run_view import RunViewScreen
    from tui.settings import Settings

    run_dir = save / "follow"
    run_dir.mkdir(parents=True)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(run_dir / "events.jsonl"), "100",
                               str(seconds + 15)])
    try:
        app = TorchxApp(Settings(save_dir=save, configs_dir=REPO / "configs", cache_dir=None))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(2.0)
            app.open_run("follow")
            screen = app.screen
            assert isinstance(screen, RunViewScreen)
            await pilot.pause(3.0)
            first = screen.snapshot.progress.step if screen.snapshot else 0
            cpu0, t0 = time.process_time(), time.monotonic()
            await pilot.pause(seconds)
            cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
            last = screen.snapshot.progress.step if screen.snapshot else 0
    finally:
        writer.kill()
        writer.wait()
    return {"follow_cpu_percent": 100.0 * cpu / wall, "follow_events_per_s": (last - first) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=positive_float, default=1.0)
    parser.add_argument("--follow-s", type=positive_float, default=20.0)
    args = parser.parse_args()
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        save = Path(tmp) / "save"
        big = save / "big"
        big.mkdir(parents=True)
        t = time.perf_counter()
        steps = write_big(big / "events.jsonl", int(args.size_gb * 2**30))
        size = os.path.getsize(big / "events.jsonl")
        print(f"wrote {size / 2**30:.2f} GiB, {steps:,} step events in {time.perf_counter() - t:.0f} s")
        figures.update(open_figures(big))
        figures["events_gib"] = size / 2**30
        figures["step_events"] = steps
        print(f"open: {figures['open_s']:.2f} s, peak RSS {figures['peak_rss_open_mb']:.0f} MB "
              f"(backfill in the background: {figures['backfill_s']:.1f} s, "
              f"peak {figures['peak_rss_after_backfill_mb']:.0f} MB)")
        (big / "events.jsonl").unlink()
        figures.update(asyncio.run(follow_cpu(save, args.follow_s)))
        print(f"follow: {figures['follow_cpu_percent']:.1f}% of a core at "
              f"{figures['follow_events_per_s']:.0f} events/s")
    figures["max_rss_bench_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
