"""What a launch asks for and what every backend does with it: reserve `save/<name>/` atomically (the
lock that keeps two TUIs from launching one name), start the run in it, record how in `run.json`.

Backend-neutral: the local backend (`tui.launch.local`) and Slurm (`tui.launch.slurm`) build on it.
Torch- and Textual-free.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchx.experiment import ENV_RESERVATION, RUN_JSON, RunDirError, reserve_run_dir, write_atomic
from tui.errors import LaunchError

if TYPE_CHECKING:
    from tui.launch.slurm import SlurmSpec


def cpu_ddp_overrides(processes: int) -> list[str]:
    """What a local launch adds, ahead of the user's overrides, for DDP over `processes` CPU ranks."""
    return ["trainer_params.accelerator=cpu", f"trainer_params.devices={processes}",
            "trainer_params.strategy=ddp"]


@dataclass(frozen=True)
class LaunchRequest:
    """Everything the launch dialog collects."""

    config: Path
    name: str
    save_dir: Path
    gpus: tuple[int, ...] = ()
    cpu_processes: int = 1
    overrides: tuple[str, ...] = ()
    slurm: SlurmSpec | None = None
    """Set for the Slurm backend: its fields replace `gpus` and `cpu_processes`."""

    def device_args(self) -> tuple[list[str], list[str]]:
        """(entry flags, overrides) selecting the GPUs, or CPU with `cpu_processes` DDP ranks, or what
        the Slurm fields set (the checks see the devices the run will have)."""
        if self.slurm is not None:
            return [], self.slurm.trainer_overrides()
        if self.gpus:
            return ["--gpu", ",".join(str(g) for g in self.gpus)], []
        if self.cpu_processes > 1:
            return [], cpu_ddp_overrides(self.cpu_processes)
        return ["--gpu", "cpu"], []

    def gpus_label(self) -> str:
        if self.gpus:
            return ",".join(str(g) for g in self.gpus)
        return "cpu" if self.cpu_processes == 1 else f"cpu×{self.cpu_processes}"


def launch_in_new_dir(request: LaunchRequest, start: Callable[[Path, str], None]) -> Path:
    """Reserve `save_dir/name` and `start(run_dir, token)` the run in it, any backend: the start gives
    the token to its child (`ENV_RESERVATION`) and records it in `run.json` as `reservation`, so only
    that child adopts the directory. A start that fails with a LaunchError frees the name again."""
    try:
        run_dir = reserve_run_dir(request.save_dir, request.name)
    except (RunDirError, OSError) as exc:
        raise LaunchError(str(exc)) from None
    try:
        start(run_dir, new_token())
    except LaunchError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir


def new_token() -> str:
    """A reservation's token: what only the launched child knows besides `run.json`."""
    return secrets.token_hex(16)


def reservation_env(token: str | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a launched child: `base` (default: this process's) with the reservation's
    token, or without any inherited one on a resume (a resume adopts nothing)."""
    env = dict(os.environ if base is None else base)
    env.pop(ENV_RESERVATION, None)
    if token:
        env[ENV_RESERVATION] = token
    return env


def write_run_json(run_dir: Path, record: dict[str, Any]) -> None:
    """Atomically, through a temporary file beside the run directory, never in it: the trainer takes a
    reserved directory only while it holds nothing but the launcher's files."""
    write_atomic(run_dir / RUN_JSON, json.dumps(record, indent=2), temp_dir=run_dir.parent)


def with_history(launch: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The `run.json` object of a (re)launch, any backend: earlier ones kept in `launches`, oldest first.
    A queued run's `queued` block (`tui.queue`) stays, and is no launch of its own."""
    previous = previous or {}
    launches = list(previous.get("launches") or [])
    if not launches and previous.keys() - {"queued"}:
        launches = [{k: previous.get(k) for k in launch}]
    kept = {"queued": previous["queued"]} if "queued" in previous else {}
    return {**kept, **launch, "launches": [*launches, launch]}
