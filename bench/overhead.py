"""Framework overhead per training step: torchx's two entries against a hand-written PyTorch loop.

Run from the repository root: `.venv/bin/python bench/overhead.py [--reps N] [--max-reps M] [--threads T]
[--clock cpu|wall] [--workloads mlp,cnn] [--quick]`: 10 short training processes a repetition (about 2.5
minutes on the 2-core machine), 3 to 15 repetitions; `--quick` runs two repetitions of fewer epochs.

Five variants train the same model on the same data loader with the same optimizer, batch size and
number of steps, on the CPU:

- `baseline`: a hand-written loop (forward, loss, `zero_grad`, `backward`, `step`, nothing else);
- `plain`: the plain-PyTorch entry, `torchx.train.main`;
- `lightning_raw`: `pl.Trainer.fit` of the same `BaseWrapper` and loaders, with logger, checkpointing,
  progress bar and model summary off;
- `lightning_logged`: `lightning_raw` with what the entry turns on that is Lightning's, not torchx's: the
  entry's TensorBoard logger and two plain `ModelCheckpoint`s (the configured best one and an
  every-epoch `last.ckpt`);
- `lightning`: the Lightning entry, `torchx.train_pl.main` (TensorBoard logger, `EventsCallback`,
  `GracefulStop`, `TorchxCheckpoint`).

`lightning` over `lightning_raw` is what the entry costs over a bare Trainer; `lightning` over
`lightning_logged` is what torchx's own callbacks cost over Lightning doing the same logging and
checkpointing itself.

Two workloads, both the shipped digits config (`configs/digits-classification.yaml`: batch 64, 20 steps
an epoch) with validation cut to one batch: `mlp`, the shipped MLP, where framework overhead dominates
(~1.5 ms a step here), and `cnn`, the registered `cnn` model at width 64, where compute dominates
(~30 ms a step here). Each workload's config is written to a temporary directory and read by all four.

How a step is timed. Every variant runs in a fresh process (`python -m bench.overhead --worker V`) with
`OMP_NUM_THREADS` fixed (`--threads`, default 1) and stamps the clock every `log_every_n_steps` (5)
steps, at the end of the step: the entries run unchanged and stamp through their own `step` events in
`events.jsonl` (the worker only adds a `cpu` field to each event they write); the baseline and the raw
Trainer (through one callback) keep their stamps in memory and write the same events when done. A run's
time per step is the median, over its 5-step windows, of window time / 5, counting only windows inside
one epoch and skipping the first epoch. So process start, imports, data set-up, warm-up and every epoch
boundary (validation, checkpoints, scheduler, loader restart) are left out: the figure is the steady
cost of one training step, data loading included.

Repetitions are interleaved (baseline, plain, lightning_raw, lightning_logged, lightning; then the same
with the order rotated), so the runs of one repetition are minutes apart at most and no variant always
follows another. A ratio is taken within each repetition (variant / reference of the same repetition,
which cancels the machine's drift between repetitions) and summarised as the geometric mean of those
ratios with a 95 % t-interval (on their logarithms). After `--reps` repetitions (default 3) the bench
goes on, up to `--max-reps` (default 15), while any target's interval still contains its limit.
Stopping once decided makes a verdict slightly likelier than the nominal 95 % says; `--max-reps` equal
to `--reps` fixes the count.

The clock is the process's CPU time by default (`--clock cpu`): on a shared machine it leaves out the
time a process waits for a core, which wall time counts at random. These runs are single-threaded and do
no blocking I/O in the timed window, so on an idle machine the two should agree; CPU time also counts the
work of any helper thread (TensorBoard's writer), which can only overstate an entry's overhead.

Targets: `plain` <= 1.05x the baseline on `mlp` and <= 1.01x on `cnn`; `lightning` <= 1.03x
`lightning_raw` (and, for torchx's callbacks alone, <= 1.03x `lightning_logged`). Each is "met" only
when its whole interval lies at or below the limit, "MISSED" when the whole interval lies above it, and
otherwise "no verdict: interval [a, b] spans the limit": the machine's noise did not allow one. The last
line printed is one JSON object: `{"ratios": {workload: {variant: {value, low, high}}}, "targets":
[{workload, ratio, value, low, high, limit, verdict}]}`, ratios to the baseline of the same repetition.
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
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.args import positive_int  # noqa: E402

SHIPPED_CONFIG = REPO / "configs" / "digits-classification.yaml"
VARIANTS = ("baseline", "plain", "lightning_raw", "lightning_logged", "lightning")
ENTRIES = {"plain": "torchx.train", "lightning": "torchx.train_pl"}
COMMON_OVERRIDES = ("trainer_params.limit_val_batches=1", "trainer_params.num_sanity_val_steps=0")
CNN_SPEC = "{name: cnn, args: {in_channels: 1, num_classes: 10, width: 64, blocks: 2}}"
# (variant, the variant it is compared with, the highest allowed ratio per workload)
TARGETS = (
    ("plain", "baseline", {"mlp": 1.05, "cnn": 1.01}),
    ("lightning", "lightning_raw", {"mlp": 1.03, "cnn": 1.03}),
    ("lightning", "lightning_logged", {"mlp": 1.03, "cnn": 1.03}),
)
CLOCKS = {"cpu": "cpu", "wall": "time"}  # --clock -> the field of a `step` event that holds it

Times = dict[str, dict[str, list[float]]]  # workload -> variant -> seconds per step, one per repetition


@dataclass(frozen=True)
class Workload:
    name: str
    overrides: tuple[str, ...]
    epochs: int
    quick_epochs: int


WORKLOADS = (
    Workload("mlp", (), epochs=40, quick_epochs=10),
    Workload("cnn", (f"train_wrapper.args.model_spec={CNN_SPEC}",), epochs=6, quick_epochs=3),
)


@dataclass(frozen=True)
class Settings:
    reps: int
    max_reps: int
    quick: bool
    threads: int
    clock: str
    workloads: tuple[str, ...]


def write_config(workload: Workload, epochs: int, directory: Path) -> Path:
    """The shipped config with the workload's overrides, as a file every variant reads."""
    from torchx.config import dump_config, load_config

    overrides = [*COMMON_OVERRIDES, *workload.overrides, f"trainer_params.max_epochs={epochs}"]
    path = directory / f"{workload.name}.yaml"
    path.write_text(dump_config(load_config(SHIPPED_CONFIG, overrides)), encoding="utf-8")
    return path


def run_variant(variant: str, config: Path, run_dir: Path, settings: Settings) -> float:
    """Run one variant in a fresh process; return its steady-state seconds per step."""
    threads = str(settings.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    cmd = [sys.executable, "-m", "bench.overhead", "--worker", variant, "--config", str(config),
           "--run-dir", str(run_dir)]
    log = run_dir.with_suffix(".log")
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}:\n"
                           f"{log.read_text(encoding='utf-8')[-3000:]}")
    return step_time(run_dir / "events.jsonl", CLOCKS[settings.clock])


def step_time(events_file: Path, clock: str) -> float:
    """Median over windows between `step` events of one epoch (the first skipped) of time / steps."""
    from torchx.events import read_events

    events, _ = read_events(events_file)
    stamps = [(e["epoch"], e["step"], e[clock]) for e in events if e["event"] == "step" and e["epoch"] > 0]
    pairs = zip(stamps, stamps[1:], strict=False)
    per_step = [(t1 - t0) / (s1 - s0) for (e0, s0, t0), (e1, s1, t1) in pairs if e0 == e1]
    if not per_step:
        raise RuntimeError(f"{events_file}: no timed steps (too few epochs?)")
    return statistics.median(per_step)


def measure(settings: Settings, tmp: Path) -> Times:
    """Seconds per step for each workload, variant and repetition; variants interleaved. At least
    `reps` repetitions, then more (up to `max_reps`) while a target's interval still spans its limit."""
    chosen = [w for w in WORKLOADS if w.name in settings.workloads]
    configs = {w.name: write_config(w, w.quick_epochs if settings.quick else w.epochs, tmp) for w in chosen}
    times: Times = {w.name: {v: [] for v in VARIANTS} for w in chosen}
    rep = 0
    while rep < settings.reps or (rep < settings.max_reps and undecided(times)):
        order = VARIANTS[rep % len(VARIANTS):] + VARIANTS[:rep % len(VARIANTS)]
        for workload, config in configs.items():
            for variant in order:
                seconds = run_variant(variant, config, tmp / f"{workload}-{variant}-{rep}", settings)
                times[workload][variant].append(seconds)
                print(f"rep {rep + 1} (of {settings.reps}-{settings.max_reps}) {workload:<4}{variant:<18}"
                      f"{seconds * 1e3:8.3f} ms/step", file=sys.stderr, flush=True)
        rep += 1
    return times


# --- the figures: ratios of runs of the same repetition, with a 95 % interval


@dataclass(frozen=True)
class Ratio:
    """The geometric mean of per-repetition ratios and its 95 % t-interval (None below 2 repetitions)."""

    value: float
    low: float | None
    high: float | None

    def text(self) -> str:
        span = "" if self.low is None or self.high is None else f" [{self.low:.3f}, {self.high:.3f}]"
        return f"{self.value:.3f}x{span}"


def ratio(by_variant: dict[str, list[float]], variant: str, reference: str = "baseline") -> Ratio:
    """`variant` over `reference`, repetition by repetition (the two ran minutes apart at most), as a
    t-interval on the log ratios: machine drift between repetitions cancels, only drift within one
    repetition is left as noise."""
    logs = [math.log(a / b) for a, b in zip(by_variant[variant], by_variant[reference], strict=True)]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return Ratio(math.exp(mean), None, None)
    from scipy.stats import t

    half = t.ppf(0.975, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return Ratio(math.exp(mean), math.exp(mean - half), math.exp(mean + half))


def verdict(value: Ratio, limit: float) -> str:
    """met / MISSED only when the whole interval lies on one side of the limit."""
    if value.low is None or value.high is None:
        return f"no verdict: {value.value:.3f}x, one repetition gives no interval"
    if value.high <= limit:
        return f"met: {value.text()} <= {limit:.2f}"
    if value.low > limit:
        return f"MISSED: {value.text()} > {limit:.2f}"
    return f"no verdict: interval [{value.low:.3f}, {value.high:.3f}] spans the {limit:.2f} target"


def target_checks(times: Times) -> list[tuple[str, str, str, Ratio, float]]:
    """(workload, variant, reference, ratio, limit) for every target of the workloads measured."""
    return [(workload, variant, reference, ratio(by_variant, variant, reference), limits[workload])
            for workload, by_variant in times.items() for variant, reference, limits in TARGETS
            if by_variant[variant]]


def undecided(times: Times) -> bool:
    return any(verdict(value, limit).startswith("no verdict") for *_, value, limit in target_checks(times))


def print_table(times: Times, settings: Settings) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    reps = len(next(iter(next(iter(times.values())).values())))
    print(f"time per training step ({settings.clock} clock, {settings.threads} thread(s), {reps} interleaved "
          f"repetition(s); load average {load} on {os.cpu_count()} CPUs)")
    print(f"{'workload':<10}{'variant':<18}{'ms/step':>8}  {'range':<17}x baseline [95 % interval]")
    for workload, by_variant in times.items():
        for variant, seconds in by_variant.items():
            spread = f"[{min(seconds) * 1e3:.3f}-{max(seconds) * 1e3:.3f}]"
            print(f"{workload:<10}{variant:<18}{statistics.median(seconds) * 1e3:8.3f}  {spread:<17}"
                  f"{ratio(by_variant, variant).text()}")
    print("targets (95 % interval of the per-repetition ratios):")
    for workload, variant, reference, value, limit in target_checks(times):
        print(f"  {workload:<5}{variant} / {reference}: {verdict(value, limit)}")


def figures(times: Times) -> dict[str, Any]:
    """The JSON line: every ratio to the baseline, then every target's ratio, interval and verdict."""
    ratios = {w: {v: asdict(ratio(by_v, v)) for v in VARIANTS[1:]} for w, by_v in times.items()}
    targets = [{"workload": w, "ratio": f"{v}/{r}", **asdict(value), "limit": limit,
                "verdict": verdict(value, limit).split(":")[0]}
               for w, v, r, value, limit in target_checks(times)]
    return {"ratios": ratios, "targets": targets}


# --- the worker side: one variant in this process (`--worker`) ---


def stamp(epoch: int, step: int) -> dict[str, Any]:
    return {"event": "step", "epoch": epoch, "step": step, "time": time.time(), "cpu": time.process_time()}


def train_baseline(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The hand-written loop: the plain entry's recipe with nothing around the step."""
    import torch

    from torchx import datasets, losses, models
    from torchx.optim import build_optimizer, build_scheduler

    torch.manual_seed(config["seed"])
    args, params = config["train_wrapper"]["args"], config["trainer_params"]
    loader = datasets.make(config["data_module"]).train_dataloader()
    model, loss_fn = models.make(args["model_spec"]), losses.make(args["loss_spec"])
    optimizer = build_optimizer(args["optim_spec"], model.parameters())
    scheduler = build_scheduler(args.get("sched_spec"), optimizer)
    log_every, step, stamps = params["log_every_n_steps"], 0, []
    model.train()
    for epoch in range(params["max_epochs"]):
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step % log_every == 0:
                stamps.append(stamp(epoch, step))
        scheduler.step()
    return stamps


def train_lightning(config: dict[str, Any], run_dir: Path, logged: bool) -> list[dict[str, Any]]:
    """`Trainer.fit` of the entry's wrapper and loaders, progress bar off; logger and checkpoints off, or
    (`logged`) the entry's TensorBoard logger and Lightning's own checkpoint callbacks."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint

    from torchx import datasets, wrappers
    from torchx.loggers import TensorBoard

    class Stamps(pl.Callback):  # defined here so that the baseline's process never imports Lightning
        def __init__(self, every: int) -> None:
            self.every = every
            self.stamps: list[dict[str, Any]] = []

        def on_train_batch_end(self, trainer: pl.Trainer, *_: Any) -> None:
            if trainer.global_step % self.every == 0:
                self.stamps.append(stamp(trainer.current_epoch, trainer.global_step))

    warnings.filterwarnings("ignore", message=r".*srun.*")
    pl.seed_everything(config["seed"], workers=True, verbose=False)
    data = datasets.make(config["data_module"])
    params = config["trainer_params"]
    stamps = Stamps(params["log_every_n_steps"])
    callbacks: list[pl.Callback] = [stamps]
    logger: Any = False
    if logged:
        logger = TensorBoard(save_dir=run_dir, name="tb", version="", default_hp_metric=False)
        callbacks += [ModelCheckpoint(dirpath=run_dir / "ckpt", **config["checkpoint"]),
                      ModelCheckpoint(dirpath=run_dir / "ckpt", filename="last", monitor=None, save_top_k=1)]
    trainer = pl.Trainer(logger=logger, enable_checkpointing=logged, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1, callbacks=callbacks,
                         default_root_dir=run_dir, **params)
    trainer.fit(wrappers.make(config["train_wrapper"]), train_dataloaders=data.train_dataloader(),
                val_dataloaders=data.val_dataloader())
    return stamps.stamps


def run_entry(variant: str, config_path: Path, run_dir: Path) -> None:
    """Run an entry's `main` unchanged, except that every event it writes also carries the CPU clock."""
    import importlib

    from torchx.events import EventWriter

    write = EventWriter.write

    def write_with_cpu(self: EventWriter, event: str, **fields: Any) -> dict[str, Any]:
        return write(self, event, cpu=time.process_time(), **fields)

    EventWriter.write = write_with_cpu  # type: ignore[method-assign]
    argv = ["--config", str(config_path), "--gpu", "cpu", "--save-dir", str(run_dir.parent),
            "--name", run_dir.name]
    importlib.import_module(ENTRIES[variant]).main(argv)


def worker(variant: str, config_path: Path, run_dir: Path) -> None:
    """Train one variant; its stamps end up in `run_dir/events.jsonl` as `step` events."""
    if variant in ENTRIES:
        run_entry(variant, config_path, run_dir)
        return
    from torchx.config import load_config

    config = load_config(config_path)
    run_dir.mkdir()
    stamps = train_baseline(config) if variant == "baseline" else \
        train_lightning(config, run_dir, logged=variant == "lightning_logged")
    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(s) + "\n" for s in stamps)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/overhead.py", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=positive_int,
                        help="interleaved repetitions, at least (default 3; 2 --quick)")
    parser.add_argument("--max-reps", type=positive_int,
                        help="at most, while a target's interval spans its limit "
                        "(default 15; --reps with --quick)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="OMP_NUM_THREADS of every variant (default 1)")
    parser.add_argument("--clock", choices=CLOCKS, default="cpu", help="process CPU time or wall time")
    parser.add_argument("--quick", action="store_true", help="fewer epochs: a smoke run")
    parser.add_argument("--workloads", default=",".join(w.name for w in WORKLOADS),
                        help="comma-separated subset of: " + ", ".join(w.name for w in WORKLOADS))
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker, args.config, args.run_dir)
        return
    workloads = tuple(args.workloads.split(","))
    unknown = sorted(set(workloads) - {w.name for w in WORKLOADS})
    if unknown:
        raise SystemExit(f"bench/overhead.py: --workloads: unknown {', '.join(unknown)}")
    reps = args.reps or (2 if args.quick else 3)
    max_reps = max(reps, args.max_reps or (reps if args.quick else 15))
    settings = Settings(reps, max_reps, args.quick, args.threads, args.clock, workloads)
    with tempfile.TemporaryDirectory(prefix="torchx-bench-") as tmp:
        times = measure(settings, Path(tmp))
    print_table(times, settings)
    print(json.dumps(figures(times), default=str))


if __name__ == "__main__":
    main()
