"""`torchx-tui sweep …`: sweeps from a shell or a script (`tui/__main__.py` hands over the words after
`sweep`).

    torchx-tui sweep --config C --space KEY=VALUES [--space …] [--trials N] [--sampler grid|random|tpe]
                     [--seed S] [--prune [--prune-startup N] [--prune-warmup E]]
                     [--gpus-per-trial K | --cpu-processes N] [--parallel P] [--name NAME]
                     [--metric M] [--mode min|max] [key.path=value …]
    torchx-tui sweep list                       one line a sweep
    torchx-tui sweep show NAME                  its trials ranked by the objective, the best named
    torchx-tui sweep extend NAME --trials K     K more trials
    torchx-tui sweep cancel NAME                no more trials; those running are stopped

Making a sweep checks everything first, as `queue add` does: the config, each override, the space, the
devices, the name, the objective, then the framework's full check (`torchx.check`, one warm process) of
every point of a grid, or of each key's choices and bounds. Bad input is one line on stderr naming the
value, exit status 2, and nothing on disk. Then it makes the sweep (`spec`, and its study's journal),
makes sure a runner lives, and prints the sweep's name: the runner asks for the trials as devices free.
Torch- and Textual-free; Optuna is imported by the commands that read or make a study.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from tui.launch import slurm
from tui.queue import store
from tui.queue.cli import USAGE_EXIT, check_devices, config_and_overrides, slurm_spec
from tui.queue.runner import ensure_runner
from tui.queue.sweeps.make import build_sweep, make, point_problem
from tui.queue.sweeps.spec import SAMPLERS, Pruning, Sweep, SweepError, SweepScan, load_sweep, write_sweep
from tui.queue.sweeps.trials import TrialRow, best
from tui.text import objective_text, param_text, short_keys

PROG = "torchx-tui sweep"
ACTIONS = ("list", "show", "extend", "cancel")


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line and exit status 2, like every refusal of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_EXIT, f"{self.prog}: error: {message}\n")


def fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(USAGE_EXIT)


def run(words: list[str], save_dir: Path) -> int:
    """`words`: what followed `sweep` on the command line; `save_dir`: the one given before it."""
    if _action(words) is None:
        args = create_parser().parse_args(words)
        return create(getattr(args, "save_dir", save_dir), args)
    args = actions_parser().parse_args(words)
    save_dir = getattr(args, "save_dir", save_dir)
    try:
        if args.action == "list":
            return list_sweeps(save_dir)
        if args.action == "show":
            return show(save_dir, args.name)
        if args.action == "extend":
            return extend(save_dir, args.name, args.trials)
        return cancel(save_dir, args.name)
    except SweepError as exc:
        fail(str(exc))


def _action(words: list[str]) -> str | None:
    """The action word, first or after a leading `--save-dir S`; None for a new sweep."""
    rest = list(words)
    if rest[:1] == ["--save-dir"]:
        rest = rest[2:]
    elif rest and rest[0].startswith("--save-dir="):
        rest = rest[1:]
    return rest[0] if rest and rest[0] in ACTIONS else None


# ---- the parsers ----

def create_parser() -> _Parser:
    parser = _Parser(prog=PROG, description="Make a sweep: trials of one config over a space, run by the "
                     f"queue's runner. Also: {PROG} list | show NAME | extend NAME --trials K | cancel NAME.")
    _save_dir(parser)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--space", action="append", required=True, metavar="KEY=VALUES",
                        help="a,b,c | loguniform(lo,hi) | uniform(lo,hi) | int(lo,hi); once per key")
    parser.add_argument("--trials", type=int, metavar="N", help="trials to run (a grid runs its grid)")
    parser.add_argument("--sampler", choices=SAMPLERS,
                        help="default: grid when every key is a list of choices, else tpe")
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed (default 0)")
    parser.add_argument("--prune", action="store_true", help="stop trials worse than the median early")
    parser.add_argument("--prune-startup", type=int, default=Pruning.startup_trials, metavar="N",
                        help=f"completed trials before any is pruned (default {Pruning.startup_trials})")
    parser.add_argument("--prune-warmup", type=int, default=Pruning.warmup_epochs, metavar="E",
                        help=f"first epoch that may prune, from 0 (default {Pruning.warmup_epochs})")
    devices = parser.add_mutually_exclusive_group()
    devices.add_argument("--gpus-per-trial", type=int, default=0, metavar="K", help="GPUs each trial needs")
    devices.add_argument("--cpu-processes", type=int, default=1, metavar="N",
                         help="CPU DDP processes a trial")
    slurm.add_arguments(parser)
    parser.add_argument("--parallel", type=int, default=1, metavar="P", help="trials at once (default 1)")
    parser.add_argument("--name", help="default: <config>-sweep-<date>-<time>; its trials are <name>-<n>")
    parser.add_argument("--metric", help="the objective (default: the config's checkpoint.monitor)")
    parser.add_argument("--mode", choices=("min", "max"), help="default: the config's checkpoint.mode")
    parser.add_argument("overrides", nargs="*", metavar="key.path=value")
    return parser


def actions_parser() -> _Parser:
    parser = _Parser(prog=PROG)
    _save_dir(parser)
    actions = parser.add_subparsers(dest="action", metavar="{list,show,extend,cancel}")
    _save_dir(actions.add_parser("list", help="one line a sweep"))
    for action, text in (("show", "its trials, ranked"), ("cancel", "ask no more trials; stop running ones")):
        sub = actions.add_parser(action, help=text)
        _save_dir(sub)
        sub.add_argument("name")
    extend_parser = actions.add_parser("extend", help="ask more trials")
    _save_dir(extend_parser)
    extend_parser.add_argument("name")
    extend_parser.add_argument("--trials", type=int, required=True, metavar="K", help="how many more")
    return parser


def _save_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--save-dir", type=Path, default=argparse.SUPPRESS, help="experiment directories")


# ---- make a sweep ----

def create(save_dir: Path, args: argparse.Namespace) -> int:
    try:
        sweep = checked_sweep(save_dir, args)
        problem = point_problem(sweep)
        if problem:
            fail(problem)
        make(save_dir, sweep)
    except SweepError as exc:
        fail(str(exc))
    ensure_runner(save_dir)
    print(sweep.name)
    return 0


def checked_sweep(save_dir: Path, args: argparse.Namespace) -> Sweep:
    """The sweep the arguments describe (`make.build_sweep`, which the launch dialog shares); SweepError
    (or `fail`) names the first thing wrong, and nothing is written either way."""
    config, overrides = config_and_overrides(args)
    prune = Pruning(args.prune_startup, args.prune_warmup) if args.prune else None
    spec = slurm_spec(args, args.gpus_per_trial, args.cpu_processes, "--gpus-per-trial", PROG)
    sweep = build_sweep(save_dir, config, overrides, args.space, sampler=args.sampler, trials=args.trials,
                        name=args.name, metric=args.metric, mode=args.mode, gpus=args.gpus_per_trial,
                        cpu_processes=args.cpu_processes, slurm=spec, parallel=args.parallel, prune=prune,
                        seed=args.seed)
    if spec is None:  # on Slurm, Slurm places the trials
        check_devices(save_dir, args.gpus_per_trial, args.cpu_processes, "--gpus-per-trial", PROG)
    return sweep


# ---- list, show, extend, cancel ----

def list_sweeps(save_dir: Path) -> int:
    from tui.queue.sweeps.study import results

    scan = SweepScan(save_dir)
    for name, sweep in sorted(scan.refresh().items()):
        rows = results(save_dir, sweep)
        told = sum(1 for r in rows if r.state not in ("running", "waiting"))
        top = best(rows)
        state = "cancelled" if sweep.cancelled else "done" if sweep.done else "running"
        value = f"best {sweep.metric} {objective_text(top.value)} (trial {top.number})" if top \
            else "no result yet"
        print(f"{name}  {sweep.sampler}  {told}/{len(rows)} told of {sweep.trials}  {state}  {value}")
    for name, why in sorted(scan.invalid.items()):
        print(f"{name}: {why}", file=sys.stderr)
    return 0


def show(save_dir: Path, name: str) -> int:
    from tui.queue.sweeps.study import results

    sweep = load_sweep(save_dir, name)
    rows = results(save_dir, sweep)
    print(header(sweep, rows))
    keys = short_keys(sweep.space.keys)
    table = [("#", "trial", "run", "state", "status", sweep.metric, "epochs", "params")]
    for place, row in enumerate(rows, start=1):
        params = " ".join(f"{keys[k]}={param_text(v)}" for k, v in row.params.items() if k in keys)
        table.append((str(place), str(row.number), row.run, row.state, row.status or "-",
                      objective_text(row.value), str(row.epochs), params))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
    for line in table:
        print("  ".join(cell.rjust(w) if i in (0, 1, 5, 6) else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(line, widths, strict=False))) + "  " + line[-1])
    top = best(rows)
    if top is None:
        print("best: none yet (no trial has completed)")
    else:
        params = " ".join(f"{keys[k]}={param_text(v)}" for k, v in top.params.items() if k in keys)
        print(f"best: trial {top.number} ({top.run}) {sweep.metric} {objective_text(top.value)} · {params}")
    return 0


def header(sweep: Sweep, rows: list[TrialRow]) -> str:
    """`sweep S · tpe · 6 trials (4 told, 2 running) · objective val/acc (max) · pruning: … · cpu, 2 at a
    time`."""
    running = sum(1 for r in rows if r.state == "running")
    told = len(rows) - running
    prune = (f"pruning: median, after {sweep.prune.startup_trials} complete, from epoch "
             f"{sweep.prune.warmup_epochs}" if sweep.prune else "no pruning")
    state = " · cancelled" if sweep.cancelled else " · done" if sweep.done else ""
    return (f"sweep {sweep.name} · {sweep.sampler} · {sweep.trials} trials ({told} told, {running} running)"
            f" · objective {sweep.metric} ({sweep.mode}) · {prune} · {sweep.devices_label()}, "
            f"{sweep.parallel} at a time{state}")


def extend(save_dir: Path, name: str, more: int) -> int:
    if more < 1:
        fail(f"--trials {more}: expected a number ≥ 1")
    with store.edit_lock(save_dir):
        sweep = load_sweep(save_dir, name)
        if sweep.sampler == "grid":
            fail(f"sweep '{name}' is a grid: it runs each of its {sweep.trials} points once")
        if sweep.cancelled:
            fail(f"sweep '{name}' was cancelled")
        sweep = replace(sweep, trials=sweep.trials + more, done=False)
        write_sweep(save_dir, sweep)
    ensure_runner(save_dir)
    print(f"{name}: {sweep.trials} trials")
    return 0


def cancel(save_dir: Path, name: str) -> int:
    with store.edit_lock(save_dir):
        sweep = load_sweep(save_dir, name)
        if sweep.done or sweep.cancelled:
            print(f"{name}: already {'done' if sweep.done else 'cancelled'}")
            return 0
        write_sweep(save_dir, replace(sweep, cancelled=True))
    ensure_runner(save_dir)
    print(f"{name}: cancelled (its runner takes its queued trials out and stops its running ones)")
    return 0
