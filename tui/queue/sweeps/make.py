"""Making a sweep, for `torchx-tui sweep` and the launch dialog alike: each check raises `SweepError` with
the one line that names the bad value (nothing exits, nothing is written), `point_problem` runs the
framework's check of every point a trial could get, and `make` writes the sweep. Torch- and
Textual-free; `make` imports Optuna (to create the study's journal).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from torchx.config import ConfigError, load_config
from torchx.experiment import validate_run_name
from tui.launch.checks import Checker
from tui.launch.request import LaunchRequest
from tui.queue import store
from tui.queue.sweeps.space import CHOICES, Space
from tui.queue.sweeps.spec import Sweep, SweepError, create_sweep_dir, sweep_dir, write_sweep


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


def point_problem(sweep: Sweep, checker: Checker | None = None) -> str | None:
    """The framework's check of every point a trial could get (`Space.check_points`), with one warm
    checker for all of them (`checker`, or one of its own): the first problem, naming the point, or
    None when every point passes."""
    config = Path(sweep.request["config"])
    device = LaunchRequest(config, sweep.name, Path(), cpu_processes=sweep.cpu_processes).device_args()[1]
    base = list(sweep.request.get("overrides") or [])
    own = checker is None
    checker = checker or Checker()
    try:
        for point in sweep.space.check_points(grid=sweep.sampler == "grid"):
            swept = sweep.space.overrides(point)
            verdict = checker.check(config, [*device, *base, *swept])
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


def preview(sweep: Sweep) -> str:
    """What the sweep will do, in a line: `12 runs (grid 3×4), 1 GPU each, 4 at a time`."""
    shape = "×".join(str(n) for n in sweep.space.grid_shape())
    kind = f"grid {shape}" if sweep.sampler == "grid" else sweep.sampler
    prune = ", pruned below the median" if sweep.prune else ""
    runs = f"{sweep.trials} run{'s' if sweep.trials != 1 else ''}"
    return f"{runs} ({kind}{prune}), {sweep.devices_label()} each, {sweep.parallel} at a time"
