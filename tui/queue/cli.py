"""`torchx-tui queue …`: the queue from a shell or a script (`tui/__main__.py` dispatches here).

    torchx-tui queue [--save-dir S]                        the queue, one line a run, first first, then
                                                           one line an unfinished sweep
    torchx-tui queue add --config C [--name N] [--gpus K | --cpu-processes N | --slurm [--nodes N ...]]
                         [key=value ...]
    torchx-tui queue remove NAME | move NAME DELTA | pause | resume
    torchx-tui queue limits [--cpu-slots N] [--gpu-mem-mib M] [--slurm-jobs J]

`add` checks the run as the launch dialog does (the config file, each override, the name, the devices,
then the framework's full check, `torchx.check`) before it writes anything: bad input is one line on
stderr naming the value, exit status 2, and nothing on disk. Then it queues the run, makes sure a
runner lives, and prints the run's name. Torch- and Textual-free (the full check runs in a subprocess).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import NoReturn

from torchx.experiment import default_run_name, validate_run_name
from tui.errors import LaunchError
from tui.history.tidy import TidyError
from tui.launch import slurm
from tui.launch.checks import split_overrides, validate_full
from tui.launch.request import LaunchRequest
from tui.queue import store
from tui.queue.devices import Limits, load_limits, save_limits
from tui.queue.runner import ensure_runner, runner_pid
from tui.queue.sweeps.spec import unfinished_sweeps
from tui.run.files import trial_of
from tui.system.gpus import GpuSampler
from tui.text import duration_text

USAGE_EXIT = 2


def run(args: argparse.Namespace) -> int:
    save_dir: Path = args.save_dir
    try:
        if args.action == "add":
            return _add(save_dir, args)
        if args.action == "remove":
            store.remove(save_dir, args.name)
            print(f"removed {args.name} (moved to the trash)")
        elif args.action == "move":
            print(f"{args.name} is now {store.move(save_dir, args.name, args.delta)}.")
        elif args.action == "pause":
            store.pause(save_dir)
        elif args.action == "resume":
            store.resume(save_dir)
            ensure_runner(save_dir)
        elif args.action == "limits":
            return _limits(save_dir, args)
        else:
            _list(save_dir)
    except (LaunchError, TidyError) as exc:
        fail(str(exc))
    return 0


def fail(message: str, prog: str = "torchx-tui queue") -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(USAGE_EXIT)


def _list(save_dir: Path, now: float | None = None) -> None:
    """One line a queued run (a sweep's trial says which), then one line an unfinished sweep."""
    now = time.time() if now is None else now
    scan = store.QueueScan(save_dir)
    scan.refresh()
    runs = scan.queued()
    width = max((len(r.name) for r in runs), default=0)
    for place, run in enumerate(runs, start=1):
        waited = duration_text(now - run.queued_at)
        trial = trial_of(scan.records.get(run.name))
        sweep = f"  sweep {trial[0]} trial {trial[1]}" if trial else ""
        print(f"{place:>3}  {run.name:<{width}}  {run.request.config.stem}  {run.wanted_label()}  "
              f"queued {waited} ago{sweep}")
    sweeps = unfinished_sweeps(save_dir)
    trials = [t[0] for t in map(trial_of, scan.records.values()) if t is not None]
    for unfinished in sweeps:
        state = "cancelled, stopping" if unfinished.cancelled else f"{unfinished.parallel} at a time"
        print(f"sweep {unfinished.name}  {unfinished.sampler}  {trials.count(unfinished.name)} of "
              f"{unfinished.trials} trials started  {unfinished.devices_label()} each, {state}")
    notes = []
    if store.paused(save_dir):
        notes.append("the queue is paused (torchx-tui queue resume)")
    if (runs or sweeps) and runner_pid(save_dir) is None:
        notes.append("no runner is running (torchx-tui queue resume starts one)")
    for note in notes:
        print(note, file=sys.stderr)


def _add(save_dir: Path, args: argparse.Namespace) -> int:
    request, gpus = checked_request(save_dir, args)
    queued = store.queue(request, gpus)
    ensure_runner(save_dir)
    print(queued.name)
    return 0


def config_and_overrides(args: argparse.Namespace) -> tuple[Path, list[str]]:
    """`--config` (a file) and the `key.path=value` overrides, or `fail` naming the first bad one."""
    config: Path = args.config
    if not config.is_file():
        fail(f"--config {config}: not a file")
    overrides, problem = split_overrides(shlex.join(args.overrides))
    if problem:
        fail(problem)
    return config, overrides


def checked_request(save_dir: Path, args: argparse.Namespace) -> tuple[LaunchRequest, int]:
    """The request `add` queues, or `fail` with the first thing wrong (nothing written either way)."""
    config, overrides = config_and_overrides(args)
    if args.gpus < 0:
        fail(f"--gpus {args.gpus}: expected a number of GPUs ≥ 1")
    if args.cpu_processes < 1:
        fail(f"--cpu-processes {args.cpu_processes}: expected a number ≥ 1")
    spec = slurm_spec(args, args.gpus, args.cpu_processes, "--gpus")
    if spec is None:
        check_devices(save_dir, args.gpus, args.cpu_processes)
    name = args.name or free_name(save_dir, default_run_name(config))
    problem = validate_run_name(name)
    if problem:
        fail(problem)
    if (save_dir / name).exists():
        fail(f"--name {name}: run '{name}' already exists in {save_dir}")
    request = LaunchRequest(config, name, save_dir, (), args.cpu_processes, tuple(overrides), spec)
    verdict = validate_full(config, [*request.device_args()[1], *overrides])
    if verdict is not None and not verdict.ok:
        fail(verdict.message)
    return request, 0 if spec else args.gpus


def slurm_spec(args: argparse.Namespace, gpus: int, cpu_processes: int, gpus_flag: str,
               prog: str = "torchx-tui queue") -> slurm.SlurmSpec | None:
    """The Slurm fields given with `--slurm` (`slurm.spec_from_args`), or None; `fail` names a wrong
    one, or this machine's device flags given with them (on Slurm the fields say what a run gets)."""
    try:
        spec = slurm.spec_from_args(args)
    except ValueError as exc:
        fail(str(exc), prog)
    if spec is not None and (gpus or cpu_processes != 1):
        flag = f"{gpus_flag} {gpus}" if gpus else f"--cpu-processes {cpu_processes}"
        fail(f"{flag}: with --slurm, --gpus-per-node and --tasks-per-node say what a run gets", prog)
    return spec


def check_devices(save_dir: Path, gpus: int, cpu_processes: int, gpus_flag: str = "--gpus",
                  prog: str = "torchx-tui queue") -> None:
    """Refuse what could never fit here: more GPUs than the machine has, more CPU processes than the
    queue's CPU slots."""
    if gpus:
        sampler = GpuSampler()
        try:
            sample = sampler.sample()
        finally:
            sampler.close()
        if gpus > len(sample.gpus):
            why = f" ({sample.no_gpu_reason})" if sample.no_gpu_reason else ""
            fail(f"{gpus_flag} {gpus}: this machine has {len(sample.gpus)} GPU(s){why}", prog)
        return
    slots = load_limits(save_dir).cpu_slots or os.cpu_count() or 1
    if cpu_processes > slots:
        fail(f"--cpu-processes {cpu_processes}: the queue has {slots} CPU slot(s) "
             "(torchx-tui queue limits --cpu-slots N)", prog)


def free_name(save_dir: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`, … when taken: a script queues several runs in one second."""
    candidate, n = name, 1
    while (save_dir / candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _limits(save_dir: Path, args: argparse.Namespace) -> int:
    limits = load_limits(save_dir)
    given = {key: getattr(args, key) for key in ("cpu_slots", "gpu_mem_mib", "slurm_jobs")}
    bad = next((f"--{k.replace('_', '-')} {v}" for k, v in given.items() if v is not None and v < 0), None)
    if bad:
        fail(f"{bad}: expected a number ≥ 0")
    if any(v is not None for v in given.values()):
        limits = Limits(**{**limits.__dict__, **{k: v for k, v in given.items() if v is not None}})
        save_limits(save_dir, limits)
    cpu = limits.cpu_slots if limits.cpu_slots is not None else f"{os.cpu_count() or 1} (the cores)"
    gpu = f"{limits.gpu_mem_mib} MiB" if limits.gpu_mem_mib is not None else "any compute process"
    print(f"cpu slots: {cpu} · a GPU is busy with: {gpu} · Slurm runs at once: {limits.slurm_jobs}")
    return 0
