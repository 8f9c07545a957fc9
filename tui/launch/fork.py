"""What the launch dialog starts from when the user forks a past run (`f`).

The config it was launched from, with its overrides on the overrides line, is what a user recognises
and edits — but only while that file still gives the config the run used. When it was changed, moved or
never known, the run's own resolved `config.yaml` (overrides already in it) is offered instead, so a fork
always starts from exactly what ran. So do its devices: the GPUs or CPU DDP processes of a local launch,
the fields of a Slurm one. A run still waiting in the queue has launched nothing: its fork starts from
the request it waits with. Torch- and Textual-free.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchx.config import ConfigError, load_config
from torchx.experiment import CONFIG_FILE, RUN_JSON, default_run_name
from tui.errors import LaunchError
from tui.launch.local import Launcher
from tui.launch.request import LaunchRequest, cpu_ddp_overrides
from tui.launch.slurm import SlurmLauncher, SlurmSpec, spec_from_record
from tui.run.files import first_argv, first_launch, read_run_json
from tui.run.status import queued_block

VALUE_FLAGS = frozenset({"--config", "--name", "--save-dir", "--gpu", "--resume"})
_OVERRIDE = re.compile(r"[A-Za-z_][\w.\[\]-]*=.*", re.S)
_GPUS = re.compile(r"\d+(,\d+)*")


@dataclass(frozen=True)
class ForkPrefill:
    config: Path
    overrides: str
    name: str
    note: str
    """Where the config comes from, for the dialog's status line."""
    gpus: tuple[int, ...] = ()
    cpu_processes: int = 1
    """The devices the run was launched on, which the fork keeps unless the user changes them."""
    slurm: SlurmSpec | None = None
    """Set when the run was submitted to Slurm: its fields, which replace `gpus` and `cpu_processes`."""


def fork_prefill(run_dir: Path, now: float | None = None) -> ForkPrefill:
    queued = queued_block(read_run_json(run_dir / RUN_JSON)[0])
    if queued is not None:
        return queued_prefill(run_dir, queued, now)
    launch, argv = first_launch(run_dir), first_argv(run_dir)
    config_arg, overrides = split_argv(argv)
    own = run_dir / CONFIG_FILE
    source = Path(config_arg) if config_arg else None
    if source is not None and _same_config(source, overrides, own):
        note = f"forked from '{run_dir.name}': {source.name} with its overrides"
        config = source
    else:
        why = "its config is unknown" if source is None else f"{source} is gone or changed since"
        note = f"forked from '{run_dir.name}': {why}, so its own config.yaml (overrides included) is used"
        config = own
    stem = source.stem if source is not None else run_dir.name
    line = shlex.join(without_launcher_overrides(launch, overrides))
    gpus, cpus = devices_of(argv, overrides)
    return ForkPrefill(config, line, default_run_name(f"{stem}.yaml", now=now), note, gpus, cpus,
                       _slurm_spec(launch))


def queued_prefill(run_dir: Path, block: dict[str, Any], now: float | None = None) -> ForkPrefill:
    """The fork of a run not launched yet (`queued`, or refused by its runner): its queued request's
    config and overrides, and its devices: as many GPUs as it wants (the first ones), its CPU
    processes, or its Slurm fields."""
    raw = block.get("request")
    request: dict[str, Any] = raw if isinstance(raw, dict) else {}
    config, overrides = request.get("config"), request.get("overrides")
    source = Path(config) if isinstance(config, str) and config else None
    line = shlex.join(str(o) for o in overrides) if isinstance(overrides, list) else ""
    if source is not None and source.is_file():
        note = f"forked from queued '{run_dir.name}': {source.name} with its overrides"
    else:
        note = f"forked from queued '{run_dir.name}': its config {config!r} is not a file"
    gpus, procs = _count(request.get("gpus"), 0), _count(request.get("cpu_processes"), 1) or 1
    try:
        slurm = spec_from_record(request["slurm"]) if request.get("slurm") is not None else None
    except ValueError:
        slurm = None
    stem = source.stem if source is not None else run_dir.name
    return ForkPrefill(source or run_dir / CONFIG_FILE, line, default_run_name(f"{stem}.yaml", now=now), note,
                       tuple(range(min(gpus, 64))), procs, slurm)


def _count(value: Any, minimum: int) -> int:
    """`value` when it is a whole number ≥ `minimum`, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= minimum else 0


def first_launch_request(run_dir: Path) -> LaunchRequest:
    """The run's first launch as a request for the same name and save dir, rebuilt from `run.json`'s
    fields and checked as the dialog checks what it is given: the config is a file, each override is
    `key.path=value`, the devices are GPU indices, CPU ranks or Slurm fields that pass the dialog's
    checks. LaunchError names what is wrong. `r` relaunches a run killed before it started with it."""
    launch, argv = first_launch(run_dir), first_argv(run_dir)
    where = run_dir / RUN_JSON
    config, overrides = split_argv(argv)
    if not config or not Path(config).is_file():
        raise LaunchError(f"{where}: its config {config!r} is not a file")
    own = without_launcher_overrides(launch, overrides)
    bad = next((o for o in own if not _OVERRIDE.fullmatch(o)), None)
    if bad is not None:
        raise LaunchError(f"{where}: {bad!r} is not an override (key.path=value)")
    slurm = None
    if launch.get("backend") == SlurmLauncher.name:
        try:
            slurm = spec_from_record(launch.get("slurm"))
        except ValueError as exc:
            raise LaunchError(f"{where}: its 'slurm' fields are damaged: {exc}") from None
    gpus, cpus = devices_of(argv, overrides)
    return LaunchRequest(Path(config), run_dir.name, run_dir.parent, gpus, cpus, tuple(own), slurm)


def devices_of(argv: list[str], overrides: list[str]) -> tuple[tuple[int, ...], int]:
    """(GPU indices, CPU DDP ranks) a local launch chose: its `--gpu`, or the CPU DDP overrides it added
    ahead of the user's (`cpu_ddp_overrides`)."""
    gpu = argv[argv.index("--gpu") + 1] if "--gpu" in argv[:-1] else None
    if gpu is not None and _GPUS.fullmatch(gpu):
        return tuple(int(g) for g in gpu.split(",")), 1
    ranks = overrides[1].removeprefix("trainer_params.devices=") if len(overrides) >= 3 else ""
    if gpu is None and ranks.isdigit() and overrides[:3] == cpu_ddp_overrides(int(ranks)):
        return (), int(ranks)
    return (), 1


def split_argv(argv: list[str]) -> tuple[str | None, list[str]]:
    """(`--config` value, the overrides): the entry and its other flags left out."""
    config, overrides, i = None, [], 0
    while i < len(argv):
        item = argv[i]
        if item in VALUE_FLAGS:
            if item == "--config" and i + 1 < len(argv):
                config = argv[i + 1]
            i += 2
            continue
        if "=" in item and not item.startswith("-"):
            overrides.append(item)
        i += 1
    return config, overrides


def without_launcher_overrides(launch: dict[str, Any], overrides: list[str]) -> list[str]:
    """The user's own overrides: those the run's launcher added for its devices (`launch` is its first
    `run.json` record) are left out, as the dialog's device choice adds its own. A run started from the
    command line keeps every override: the user typed them all."""
    if launch.get("backend") == SlurmLauncher.name:
        try:
            added = SlurmSpec(**launch.get("slurm") or {}).trainer_overrides()
        except TypeError:
            return overrides
        return overrides[:-len(added)] if overrides[-len(added):] == added else overrides
    if launch.get("backend") == Launcher.name and len(overrides) >= 3:
        ranks = overrides[1].removeprefix("trainer_params.devices=")
        if ranks.isdigit() and overrides[:3] == cpu_ddp_overrides(int(ranks)):
            return overrides[3:]
    return overrides


def _slurm_spec(launch: dict[str, Any]) -> SlurmSpec | None:
    """The Slurm fields of a Slurm launch; None for a local one, or when they are damaged (the fork then
    starts from the dialog's own defaults, as `first_launch_request` would refuse them)."""
    if launch.get("backend") != SlurmLauncher.name:
        return None
    try:
        return spec_from_record(launch.get("slurm"))
    except ValueError:
        return None


def _same_config(source: Path, overrides: list[str], own: Path) -> bool:
    try:
        return load_config(source, overrides) == load_config(own)
    except ConfigError:
        return False

