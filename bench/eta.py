"""ETA accuracy on runs of realistic length and shape: what the run view showed at 5, 10, 25 and 50 % of
the steps against the run's actual total, and how fast it follows a machine that slows down.

    .venv/bin/python bench/eta.py [--runs 3] [--kinds every-epoch,every-4,slowdown] [--threads 1] [--quick]

About 13 minutes on the 2-core VM (3 runs of each kind, 60-100 s of training each); `--quick` runs one
short run of each kind (about a minute), to check the bench itself.

Every run trains for real on the CPU with the Lightning entry (`python -m torchx.train_pl`), so the
figures are those of the events the TUI reads: at each checkpoint fraction the run view shows the
elapsed time and the `eta_s` of the latest event (both counting on between events), so the total it
predicts is the first `step` event's elapsed + `eta_s` past that fraction (`tui.live.data
.predicted_total_s`, the function the view's figures come from). The actual total runs from the
`start` event to the `end` event. Error = predicted / actual - 1.

Kinds (the shipped digits config with the registered `cnn` model at width 32, one thread):

- `every-epoch`: 240 epochs of 20 steps, a validation pass every epoch (over 60 s on the idle 2-core VM);
- `every-4`: half the data held out for validation (13 training steps, 15 validation batches) and
  `check_val_every_n_epoch=4`, 360 epochs: the step rate is uneven, a pass every fourth epoch;
- `slowdown`: `every-epoch`, 130 epochs, with the trainer pinned to one core, where the bench starts a
  CPU hog (a busy loop, pinned to the same core) once the events pass 50 % of the steps, so the machine
  is about 2x slower from then on. Its 5-50 % errors are those of a prediction the future proved wrong,
  so they are printed but not summarised; its figure is the recovery: the seconds and epochs from the
  hog's start to the first event whose predicted total is back within 10 % of the actual one ("total"),
  and to the first whose ETA is within 10 % of the time actually left ("ETA"); and the slow-down seen:
  seconds per step over the 5 epochs after the hog, and over the rest, against before it (a clean step
  is the same twice; a busy machine's own drift is not).

Beside each error, in brackets, is the drift: seconds per step from that fraction to the end over those
from half that fraction to it. The ETA can only extrapolate the recent past; an error of -16 % with a
drift of 1.19x is the machine slowing down after the ETA was read, not the estimate.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.args import positive_int  # noqa: E402

CHECKPOINTS = (0.05, 0.10, 0.25, 0.50)
WITHIN = 0.10  # the accuracy target: the prediction within 10 % of the actual
HOG_AT = 0.50
SETTLE_EPOCHS = 5  # the slow-down is measured over this many epochs after the hog starts, then the rest
CNN = "{name: cnn, args: {in_channels: 1, num_classes: 10, width: 32, blocks: 2}}"
HOG = "while True: pass"

Events = list[dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    name: str
    overrides: tuple[str, ...]
    epochs: int
    quick_epochs: int
    slowdown: bool = False


KINDS = (
    Kind("every-epoch", (), epochs=240, quick_epochs=12),
    Kind("every-4", ("trainer_params.check_val_every_n_epoch=4", "data_module.args.val_fraction=0.5",
                     "data_module.args.test_fraction=0.05"), epochs=360, quick_epochs=16),
    Kind("slowdown", (), epochs=130, quick_epochs=12, slowdown=True),
)


def command(kind: Kind, epochs: int, save: Path, name: str) -> list[str]:
    overrides = [f"train_wrapper.args.model_spec={CNN}", f"trainer_params.max_epochs={epochs}",
                 f"train_wrapper.args.sched_spec.args.T_max={epochs}", *kind.overrides]
    return [sys.executable, "-m", "torchx.train_pl", "--config", "configs/digits-classification.yaml",
            "--save-dir", str(save), "--name", name, "--gpu", "cpu", *overrides]


def read(run_dir: Path) -> Events:
    from torchx.events import read_events

    path = run_dir / "events.jsonl"
    return read_events(path)[0] if path.exists() else []


def fraction_done(events: Events) -> float:
    start = next((e for e in events if e["event"] == "start"), None)
    steps = [e["step"] for e in events if e["event"] == "step"]
    if start is None or not steps or not start["max_epochs"] or not start["steps_per_epoch"]:
        return 0.0
    return steps[-1] / (start["max_epochs"] * start["steps_per_epoch"])


def start_hog(cpu: int) -> subprocess.Popen[bytes]:
    hog = subprocess.Popen([sys.executable, "-c", HOG], stdin=subprocess.DEVNULL)
    os.sched_setaffinity(hog.pid, {cpu})
    return hog


def train(kind: Kind, epochs: int, save: Path, name: str, threads: int) -> tuple[Events, float | None]:
    """One training run; its events and, for a slow-down run, the time the hog started."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cpu = max(os.sched_getaffinity(0))
    cmd = command(kind, epochs, save, name)
    log = save / f"{name}.log"
    hog: subprocess.Popen[bytes] | None = None
    hog_time = None
    with open(log, "wb") as out:
        trainer = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        if kind.slowdown:
            os.sched_setaffinity(trainer.pid, {cpu})
        while trainer.poll() is None:
            time.sleep(0.2)
            if kind.slowdown and hog is None and fraction_done(read(save / name)) >= HOG_AT:
                hog, hog_time = start_hog(cpu), time.time()
    finally:
        for process in (trainer, hog):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    if trainer.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} exited with {trainer.returncode}:\n{tail}")
    return read(save / name), hog_time


def span(events: Events) -> tuple[dict[str, Any], float, int]:
    """The `start` event, the actual total seconds (start to end) and the steps per epoch."""
    start = next(e for e in events if e["event"] == "start")
    end = next(e for e in reversed(events) if e["event"] == "end")
    return start, end["time"] - start["time"], start["steps_per_epoch"]


def checkpoint_errors(events: Events) -> dict[str, float | None]:
    """Error of the total the view predicted at each checkpoint fraction, in percent."""
    from tui.live.data import predicted_total_s

    _, actual, _ = span(events)
    errors: dict[str, float | None] = {}
    for fraction in CHECKPOINTS:
        predicted = predicted_total_s(events, fraction)
        errors[f"{fraction:.0%}"] = None if predicted is None else 100.0 * (predicted[1] / actual - 1)
    return errors


def recovery(events: Events, hog_time: float) -> dict[str, float | None]:
    """Seconds and epochs from the hog's start until the view's prediction is back within `WITHIN`:
    of the actual total (`total_*`), and of the time actually left (`ETA_*`); the slow-down factor."""
    start, actual, per_epoch = span(events)
    end_time = start["time"] + actual
    after = [e for e in events if e["event"] in ("step", "epoch") and e["time"] >= hog_time
             and isinstance(e.get("eta_s"), (int, float))]
    hog_step = after[0]["step"] if after else 0
    before = pace(events, 0.1 * start["max_epochs"] * per_epoch, hog_step)
    figures: dict[str, float | None] = {
        "slowdown_x": ratio(pace(events, hog_step, hog_step + SETTLE_EPOCHS * per_epoch), before),
        "later_x": ratio(pace(events, hog_step + SETTLE_EPOCHS * per_epoch, math.inf), before)}
    errors = {"total": lambda e: (e["time"] - start["time"] + e["eta_s"]) / actual - 1,
              "ETA": lambda e: e["eta_s"] / max(1e-9, end_time - e["time"]) - 1}
    for name, error in errors.items():
        hit = next((e for e in after if abs(error(e)) < WITHIN), None)
        figures[f"{name}_s"] = None if hit is None else hit["time"] - hog_time
        figures[f"{name}_epochs"] = None if hit is None else (hit["step"] - hog_step) / per_epoch
    return figures


def pace(events: Events, first: float, last: float) -> float | None:
    """Wall seconds per step (validation in) from the first `step` event at or past step `first` to the
    first at or past `last` (the last one if none)."""
    steps = [(e["step"], e["time"]) for e in events if e["event"] == "step"]
    a = next((s for s in steps if s[0] >= first), None)
    b = next((s for s in steps if s[0] >= last), steps[-1] if steps else None)
    if a is None or b is None or b[0] <= a[0]:
        return None
    return (b[1] - a[1]) / (b[0] - a[0])


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def drifts(events: Events) -> dict[str, float | None]:
    """At each checkpoint fraction f: the pace from f to the end over the pace from f/2 to f, how much
    the machine's speed changed after the ETA was read (no estimate can foresee that part)."""
    start, _, per_epoch = span(events)
    total = start["max_epochs"] * per_epoch
    return {f"{f:.0%}": ratio(pace(events, f * total, total), pace(events, f / 2 * total, f * total))
            for f in CHECKPOINTS}


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def one_run(kind: Kind, epochs: int, save: Path, name: str, threads: int) -> dict[str, Any]:
    events, hog_time = train(kind, epochs, save, name, threads)
    _, actual, _ = span(events)
    result: dict[str, Any] = {"kind": kind.name, "actual_s": actual, "errors": checkpoint_errors(events),
                              "drifts": drifts(events)}
    line = "  ".join(f"{k} {fmt(v, '+.1f')}% ({fmt(result['drifts'][k], '.2f')}x)"
                     for k, v in result["errors"].items())
    print(f"{name:<16}{actual:7.1f} s  {line}", flush=True)
    if hog_time is not None:
        result["recovery"] = rec = recovery(events, hog_time)
        print(f"{'':<16}hog from {hog_time - events[0]['time']:.1f} s, {recovery_text(rec)}", flush=True)
    return result


def recovery_text(rec: dict[str, float | None]) -> str:
    back = ", ".join(f"{name} after {fmt(rec[name + '_s'], '.1f')} s ({fmt(rec[name + '_epochs'], '.1f')} "
                     "epochs)" for name in ("total", "ETA"))
    return (f"slow-down {fmt(rec['slowdown_x'], '.2f')}x over {SETTLE_EPOCHS} epochs, "
            f"{fmt(rec['later_x'], '.2f')}x after; back within 10 %: {back}")


def spread(values: list[float]) -> dict[str, float]:
    """Median and worst (the largest in size, with its sign)."""
    return {"median": statistics.median(values), "worst": max(values, key=abs)}


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per kind: median and worst error at each checkpoint (slow-down runs: recovery figures instead)."""
    summary: dict[str, Any] = {}
    for kind in dict.fromkeys(r["kind"] for r in results):
        runs = [r for r in results if r["kind"] == kind]
        if "recovery" in runs[0]:
            keys = ("total_s", "total_epochs", "ETA_s", "ETA_epochs", "slowdown_x", "later_x")
            summary[kind] = {k: spread([r["recovery"][k] for r in runs if r["recovery"][k] is not None])
                             for k in keys if any(r["recovery"][k] is not None for r in runs)}
            continue
        summary[kind] = {c: spread([r["errors"][c] for r in runs if r["errors"][c] is not None])
                         for c in runs[0]["errors"]}
    return summary


def spec(key: str) -> str:
    """A summary figure's format: errors in signed percent, seconds and epochs to 0.1, factors to 0.01."""
    return "+.1f" if key.endswith("%") else ".2f" if key.endswith("_x") else ".1f"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def print_summary(summary: dict[str, Any], runs: int) -> None:
    print(f"\nmedian / worst of {runs} run(s) each; load average {load_average()}")
    for kind, figures in summary.items():
        cells = "  ".join(f"{k} {v['median']:{spec(k)}}/{v['worst']:{spec(k)}}" for k, v in figures.items())
        print(f"{kind:<12}{cells}")


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return [rounded(v) for v in value] if isinstance(value, (list, tuple)) else value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/eta.py", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=positive_int, help="runs of each kind (default 3; 1 with --quick)")
    parser.add_argument("--kinds", default=",".join(k.name for k in KINDS),
                        help="comma-separated subset of: " + ", ".join(k.name for k in KINDS))
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="OMP_NUM_THREADS of the runs (default 1)")
    parser.add_argument("--quick", action="store_true", help="one short run of each kind: a smoke run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    chosen = [k for k in KINDS if k.name in args.kinds.split(",")]
    if len(chosen) != len(set(args.kinds.split(","))):
        raise SystemExit(f"bench/eta.py: --kinds: choose from {', '.join(k.name for k in KINDS)}")
    runs = args.runs or (1 if args.quick else 3)
    print(f"load average before: {load_average()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="torchx-eta-") as tmp:
        for i in range(runs):
            for kind in chosen:
                epochs = kind.quick_epochs if args.quick else kind.epochs
                results.append(one_run(kind, epochs, Path(tmp), f"{kind.name}-{i + 1}", args.threads))
    summary = summarise(results)
    print_summary(summary, runs)
    print(json.dumps(rounded({"runs": results, "summary": summary, "load_avg": os.getloadavg()})))


if __name__ == "__main__":
    main()
