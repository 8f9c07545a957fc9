"""Making a sweep, for `torchx-tui sweep` and the launch dialog alike: `build_sweep` turns plain values
(the CLI's flags, the dialog's fields) into a `Sweep`, each check raising `SweepError` with the one line
that names the bad value in the CLI's words (`field_text` says it in the dialog's), nothing exited,
nothing written; `point_problem` runs the framework's check of every point a trial could get, `make`
writes the sweep, `preview` says in a line what it will do. Torch- and Textual-free; `make` imports
Optuna (to create the study's journal), lazily: the dialog imports this module.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from torchx.config import ConfigError, load_config
from torchx.experiment import validate_run_name
from tui.launch.checks import Checker
from tui.launch.request import LaunchRequest
from tui.launch.slurm import SlurmSpec, spec_from_record
from tui.queue import store
from tui.queue.sweeps.space import CHOICES, Space, SpaceError, parse_space
from tui.queue.sweeps.spec import (
    SAMPLERS,
    Pruning,
    Sweep,
    SweepError,
    create_sweep_dir,
    sweep_dir,
    write_sweep,
)

FIELDS = {"--space": "space", "--sampler": "sampler", "--trials": "trials", "--parallel": "at once",
          "--name": "name", "--metric": "objective", "--mode": "mode"}
"""The launch dialog's name for each flag a message of this module may name."""
_FLAG = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, FIELDS)) + r")(?![\w-])")


_WORD = re.compile(r"(?:\([^()]*\)|\S)+")


def field_text(message: str) -> str:
    """A message of this module in the launch dialog's words: each flag becomes its field's name."""
    return _FLAG.sub(lambda m: FIELDS[m.group(1)], message)


def space_words(text: str) -> list[str]:
    """The dialog's one-line space as `key=values` words: apart by spaces, a space inside parentheses
    kept (`lr=loguniform(1e-5, 1e-2)` is one word)."""
    return _WORD.findall(text)


def plan(space_texts: Iterable[str], sampler: str | None, trials: int | None) -> tuple[Space, str, int]:
    """The space, the sampler (by default grid when every key is a list of choices, else tpe) and how
    many trials it runs (`trials_of`); SweepError names the first thing wrong. Pure: the dialog's
    preview asks it at each keystroke."""
    try:
        space = parse_space(space_texts)
    except SpaceError as exc:
        raise SweepError(str(exc)) from None
    sampler = sampler or ("grid" if space.is_grid() else "tpe")
    if sampler not in SAMPLERS:
        raise SweepError(f"--sampler {sampler}: expected one of {', '.join(SAMPLERS)}")
    return space, sampler, trials_of(space, sampler, trials)


def build_sweep(save_dir: Path, config: Path, overrides: Sequence[str], space_texts: Iterable[str], *,
                sampler: str | None = None, trials: int | None = None, name: str | None = None,
                metric: str | None = None, mode: str | None = None, gpus: int = 0, cpu_processes: int = 1,
                slurm: SlurmSpec | None = None, parallel: int = 1, prune: Pruning | None = None,
                seed: int = 0, now: float | None = None) -> Sweep:
    """The sweep these values describe (`gpus` per trial, or `cpu_processes`, or `slurm`'s fields; the
    name by default `default_name`); SweepError names the first thing wrong, and nothing is written
    either way. The devices are the caller's to check (what this machine has)."""
    space, sampler, trials = plan(space_texts, sampler, trials)
    both = next((o for o in overrides if o.partition("=")[0] in space.keys), None)
    if both:
        raise SweepError(f"override '{both}': its key is swept (--space); give it one or the other")
    counts = [("--parallel", parallel, 1), ("--gpus-per-trial", gpus, 0),
              ("--cpu-processes", cpu_processes, 1), ("--seed", seed, 0)]
    if prune is not None:
        counts += [("--prune-startup", prune.startup_trials, 0), ("--prune-warmup", prune.warmup_epochs, 0)]
    for flag, value, least in counts:
        if value < least:
            raise SweepError(f"{flag} {value}: expected a number ≥ {least}")
    name = name or default_name(save_dir, config, now)
    check_name(save_dir, name)
    metric, mode = objective(config, list(overrides), metric, mode)
    request = LaunchRequest(config, name, save_dir, (), cpu_processes, tuple(overrides), slurm)
    record = store.request_record(request, 0 if slurm else gpus)
    return Sweep(name, record, space, sampler, trials, metric, mode, parallel, prune, seed,
                 time.time() if now is None else now)


def trials_of(space: Space, sampler: str, trials: int | None) -> int:
    """How many trials: a grid's size (`trials` may only repeat it), else `trials` (≥ 1)."""
    if sampler == "grid":
        if not space.is_grid():
            param = next(p for p in space.params if p.kind != CHOICES)
            raise SweepError(f"--sampler grid: '{param.key}={param.text}' is not a list of choices")
        size = space.grid_size()
        if trials is not None and trials != size:
            shape = "×".join(str(n) for n in space.grid_shape())
            raise SweepError(f"--trials {trials}: a grid runs each of its {size} points once (grid {shape})")
        return size
    if trials is None:
        raise SweepError(f"--trials: how many trials should the {sampler} sampler run?")
    if trials < 1:
        raise SweepError(f"--trials {trials}: expected a number ≥ 1")
    return trials


def default_name(save_dir: Path, config: Path, now: float | None = None) -> str:
    """`<config>-sweep-<date>-<time>`, with `-2`, `-3`, … when taken."""
    name = f"{config.stem}-sweep-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}"
    candidate, n = name, 1
    while sweep_dir(save_dir, candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def check_name(save_dir: Path, name: str) -> None:
    """A valid name, no sweep of that name, and no run named as one of its trials (`<name>-<n>`)."""
    problem = validate_run_name(name)
    if problem:
        raise SweepError(f"--name {name}: {problem.replace('run name', 'sweep name')}")
    if sweep_dir(save_dir, name).exists():
        raise SweepError(f"--name {name}: sweep '{name}' already exists in {save_dir}")
    prefix = f"{name}-"
    taken = sorted(p.name for p in Path(save_dir).glob(f"{name}-*") if p.name[len(prefix):].isdigit())
    if taken:
        raise SweepError(f"--name {name}: run '{taken[0]}' already exists in {save_dir} "
                         f"(its trials are {name}-<n>)")


def objective(config: Path, overrides: list[str], metric: str | None, mode: str | None) -> tuple[str, str]:
    """The metric and direction: as given, else the config's `checkpoint.monitor` and `mode`."""
    try:
        checkpoint = load_config(config, overrides).get("checkpoint") or {}
    except ConfigError as exc:
        raise SweepError(str(exc).replace(str(config), config.name)) from None
    metric = metric or checkpoint.get("monitor")
    if not metric:
        raise SweepError(f"--metric: {config.name} has no checkpoint.monitor; name the metric to optimise")
    return str(metric), mode or str(checkpoint.get("mode") or "min")


def draft(space_texts: Iterable[str], sampler: str | None, trials: int | None, *, gpus: int = 0,
          cpu_processes: int = 1, slurm: SlurmSpec | None = None, parallel: int = 1,
          prune: Pruning | None = None) -> Sweep:
    """The sweep as far as these values say, without the checks that read files (name, objective):
    what the dialog previews at each keystroke. SweepError names the first thing wrong."""
    space, sampler, trials = plan(space_texts, sampler, trials)
    if parallel < 1:
        raise SweepError(f"--parallel {parallel}: expected a number ≥ 1")
    request = {"gpus": 0 if slurm else gpus, "cpu_processes": cpu_processes,
               "slurm": asdict(slurm) if slurm is not None else None}
    return Sweep("", request, space, sampler, trials, "", "min", parallel, prune)


def point_problem(sweep: Sweep, checker: Checker | None = None,
                  cancelled: Callable[[], bool] = lambda: False) -> str | None:
    """The framework's check of every point a trial could get (`Space.check_points`), with one warm
    checker for all of them (`checker`, or one of its own): the first problem, naming the point, or
    None when every point passes, or when `cancelled()` turned true (the caller asks it again)."""
    config = Path(sweep.request["config"])
    slurm = spec_from_record(sweep.request["slurm"]) if sweep.request.get("slurm") is not None else None
    device = LaunchRequest(config, sweep.name, Path(), cpu_processes=sweep.cpu_processes,
                           slurm=slurm).device_args()[1]
    base = list(sweep.request.get("overrides") or [])
    own = checker is None
    checker = checker or Checker()
    try:
        for point in sweep.space.check_points(grid=sweep.sampler == "grid"):
            if cancelled():
                return None
            swept = sweep.space.overrides(point)
            verdict = checker.check(config, [*device, *base, *swept], cancelled)
            if verdict is not None and not verdict.ok:
                return f"{' '.join(swept)}: {verdict.message}"
    finally:
        if own:
            checker.close()
    return None


def make(save_dir: Path, sweep: Sweep) -> None:
    """Take the name (atomic mkdir), create the study's journal, then write `sweep.json` under the
    queue's edit lock: a sweep that can be seen has its study, and a runner deciding to exit sees it.
    SweepError when the name is taken; nothing is left behind when anything fails. The caller then
    starts a runner (`tui.queue.runner.ensure_runner`)."""
    from tui.queue.sweeps.study import create_study

    path = create_sweep_dir(save_dir, sweep.name)
    try:
        create_study(save_dir, sweep)
        with store.edit_lock(save_dir):
            write_sweep(save_dir, sweep)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def preview(sweep: Sweep, machine_gpus: Sequence[int] | None = None) -> str:
    """What the sweep will do, in a line: `12 runs (grid 3×4), 1 GPU each, 4 at a time`; with the GPUs
    the queue may give it (`machine_gpus`, this machine's), where: `… 4 at a time on GPUs 0–3`, or how
    many fit when fewer than `parallel` do. A Slurm sweep's trials take its fields' nodes × GPUs."""
    shape = "×".join(str(n) for n in sweep.space.grid_shape())
    kind = f"grid {shape}" if sweep.sampler == "grid" else sweep.sampler
    prune = ", pruned below the median" if sweep.prune else ""
    runs = f"{sweep.trials} run{'s' if sweep.trials != 1 else ''}"
    slurm = sweep.request.get("slurm")
    devices = f"slurm {spec_from_record(slurm).label()}" if slurm is not None else sweep.devices_label()
    line = f"{runs} ({kind}{prune}), {devices} each, {sweep.parallel} at a time"
    if slurm is not None:
        return line + " on Slurm"
    if machine_gpus is None:
        return line
    if not sweep.gpus:
        return line + " on the CPU"
    fit = len(machine_gpus) // sweep.gpus
    where = f"GPU{'s' if len(machine_gpus) != 1 else ''} {gpu_ids_text(machine_gpus)}"
    if fit >= min(sweep.parallel, sweep.trials):
        return f"{line} on {where}"
    return f"{line}, but {fit} fit{'s' if fit == 1 else ''} on {where}" if machine_gpus else \
        f"{line}, but this machine has no GPU"


def gpu_ids_text(ids: Sequence[int]) -> str:
    """`0–3` for a run of ids, else `0,2,5`."""
    ids = sorted(ids)
    if len(ids) > 2 and ids == list(range(ids[0], ids[-1] + 1)):
        return f"{ids[0]}–{ids[-1]}"
    return ",".join(str(i) for i in ids)
