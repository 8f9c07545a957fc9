"""What both entries share: flags, config and run directory before training; the `end` event after an error.

Every user mistake is found here, before the directory exists, so a refused run leaves nothing behind:
the name, the save dir, the config and every object built from it (`torchx.check`, the same check
`python -m torchx.check` and the TUI's launch dialog run) and the devices.
DDP child ranks (started by Lightning or srun with the same argv) never write to it; those started by
Lightning without `--name` find it through `ENV_RUN_DIR`. A requeued Slurm job resumes its own run.
When training raises, `end_after_error` gives the run its `end` event, the same way in both entries;
`train_reported` prints the run's first and last lines on the terminal (`torchx.report`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchx.check import check_run
from torchx.config import ConfigError, config_files, dump_config, load_config
from torchx.errors import USAGE_EXIT, UserError
from torchx.events import read_events
from torchx.experiment import (
    CKPT_DIR,
    CONFIG_FILE,
    ENV_RESERVATION,
    ENV_RUN_DIR,
    EVENTS_FILE,
    LAST_CKPT,
    RunDirError,
    claim_run_dir,
    default_run_name,
    snapshot_code,
    validate_run_name,
)
from torchx.recorder import RunRecorder
from torchx.report import end_line, start_line
from torchx.stopping import StopRequest

PACKAGE_DIR = Path(__file__).resolve().parent  # the framework's source, snapshot into each run
FORCED_STOP_EXIT = 1  # a second stop signal cut the run short (Lightning exits with 1 then too)


@dataclass
class RunContext:
    name: str
    run_dir: Path
    config: dict[str, Any]
    config_path: str
    argv: list[str]
    resume_ckpt: Path | None
    gpus: list[int] | None  # None: no --gpu; []: --gpu cpu
    entry: str  # "train_pl" or "train": a run is resumed by the entry that started it

    @property
    def last_ckpt(self) -> Path:
        return self.run_dir / CKPT_DIR / LAST_CKPT

    def run_info(self) -> dict[str, Any]:
        """The fields of the `start` event that the entry (not the trainer) knows."""
        return {"name": self.name, "config_path": self.config_path, "argv": self.argv,
                "resumed_from": str(self.resume_ckpt) if self.resume_ckpt else None,
                "config_text": dump_config(self.config), "entry": self.entry}


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", help="experiment YAML (not needed with --resume)")
    parser.add_argument("--gpu", help="CUDA devices, e.g. 0 or 0,1 (DDP); 'cpu' for the CPU")
    parser.add_argument("--name", help="run name (default: <config-stem>-<YYYYmmdd-HHMMSS>)")
    parser.add_argument("--save-dir", default="save", help="where run directories live (default: save)")
    parser.add_argument("--resume", metavar="NAME", help="continue run NAME from its ckpt/last.ckpt")
    parser.add_argument("overrides", nargs="*", help="dotted overrides: trainer_params.max_epochs=3")
    return parser


def command_line() -> list[str]:
    """How this process was started, as a command a user can paste (`python -m torchx.train_pl ...`)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return [sys.executable, "-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]]
    return [sys.executable, *sys.argv]


def parse_gpus(text: str | None) -> list[int] | None:
    if text is None:
        return None
    if text.strip().lower() == "cpu":
        return []
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--gpu {text!r}: expected 'cpu' or comma-separated device ids like 0,1") from None
    if not ids or any(i < 0 for i in ids) or len(set(ids)) != len(ids):
        raise UserError(f"--gpu {text!r}: expected distinct non-negative device ids like 0,1")
    return ids


def _previous_starts(run_dir: Path) -> list[dict[str, Any]]:
    events, _ = read_events(run_dir / EVENTS_FILE)
    return [e for e in events if e.get("event") == "start"]


def prepare(args: argparse.Namespace, check: Callable[[dict[str, Any], str], None], entry: str,
            argv: list[str] | None = None) -> RunContext:
    """Resolve config and directory; raise UserError (nothing written) on any bad input."""
    argv = argv if argv is not None else command_line()
    gpus = parse_gpus(args.gpu)
    save_dir = Path(args.save_dir)
    requeued = slurm_requeued(save_dir, args)
    if args.resume is not None or requeued:
        if args.config and not requeued:
            raise UserError("--resume uses the run's own config.yaml; give overrides instead of --config")
        name = args.resume if args.resume is not None else args.name
        _check_name(name)
        ctx = _resume_context(save_dir / name, args.overrides, check, entry, argv, gpus)
    else:
        ctx = _new_context(save_dir, args, check, entry, argv, gpus)
    if is_child_rank():  # rank 0 sets the directory up; other ranks only train
        return ctx
    if ctx.resume_ckpt is None:
        _claim(save_dir, ctx.name)
        snapshot_code(ctx.run_dir, PACKAGE_DIR, config_files(args.config))
    (ctx.run_dir / CONFIG_FILE).write_text(dump_config(ctx.config), encoding="utf-8")
    (ctx.run_dir / CKPT_DIR).mkdir(exist_ok=True)
    os.environ[ENV_RUN_DIR] = str(ctx.run_dir)
    return ctx


def _new_context(save_dir: Path, args: argparse.Namespace, check: Callable[[dict[str, Any], str], None],
                 entry: str, argv: list[str], gpus: list[int] | None) -> RunContext:
    if not args.config:
        raise UserError("--config is required (or --resume NAME)")
    child_dir = os.environ.get(ENV_RUN_DIR) if is_child_rank() else None
    name = args.name if args.name is not None else (
        Path(child_dir).name if child_dir else default_run_name(args.config))
    _check_name(name)
    if not is_child_rank():
        check_save_dir(save_dir)
    config = load_config(args.config, args.overrides)
    check(config, args.config)
    ctx = RunContext(name, save_dir / name, config, args.config, argv, None, gpus, entry)
    check_run(ctx, args.config)
    return ctx


def _check_name(name: str) -> None:
    problem = validate_run_name(name)
    if problem:
        raise RunDirError(problem)


def check_save_dir(save_dir: Path) -> None:
    """The save dir is a writable directory or can be made in one: refused before anything is built."""
    existing = save_dir
    while not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == save_dir else f"cannot be made: {existing} "
        raise RunDirError(f"--save-dir {save_dir}: {where}is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunDirError(f"--save-dir {save_dir}: {existing} is not writable")


def _claim(save_dir: Path, name: str) -> None:
    """`claim_run_dir`, with a directory the system refuses to make (a read-only or special file system)
    refused in one line like any other bad input."""
    try:
        claim_run_dir(save_dir, name, os.environ.pop(ENV_RESERVATION, None))
    except RunDirError:
        raise
    except OSError as exc:
        raise RunDirError(f"--save-dir {save_dir}: cannot make {save_dir / name} ({exc.strerror or exc})"
                          ) from None


def _resume_context(run_dir: Path, overrides: list[str], check: Callable[[dict[str, Any], str], None],
                    entry: str, argv: list[str], gpus: list[int] | None) -> RunContext:
    config_file = run_dir / CONFIG_FILE
    if not config_file.is_file():
        raise RunDirError(f"cannot resume '{run_dir.name}': {config_file} not found")
    last = run_dir / CKPT_DIR / LAST_CKPT
    if not last.is_file():
        raise RunDirError(f"cannot resume '{run_dir.name}': {last} not found (it stopped before its "
                          "first checkpoint; start it again instead)")
    starts = _previous_starts(run_dir)
    if starts and starts[-1].get("entry", entry) != entry:
        other = starts[-1]["entry"]
        raise RunDirError(f"cannot resume '{run_dir.name}' with torchx.{entry}: it was trained by "
                          f"torchx.{other} (resume it with python -m torchx.{other})")
    config = load_config(config_file, overrides)
    check(config, str(config_file))
    config_path = starts[0].get("config") if starts else None
    ctx = RunContext(run_dir.name, run_dir, config, config_path or str(config_file), argv, last, gpus, entry)
    check_run(ctx, str(config_file))
    return ctx


def slurm_requeued(save_dir: Path, args: argparse.Namespace) -> bool:
    """A Slurm job that was requeued reruns its batch script unchanged: continue the run it started."""
    restarts = os.environ.get("SLURM_RESTART_COUNT", "0")
    return (restarts.isdigit() and int(restarts) > 0 and not args.resume and bool(args.name)
            and (save_dir / args.name / CONFIG_FILE).is_file())


def is_child_rank() -> bool:
    """True in a process started for a rank other than 0 with rank 0's argv (by Lightning or srun)."""
    return any(int(os.environ.get(var) or 0) > 0
               for var in ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID"))


def end_after_error(recorder: RunRecorder, exc: BaseException, stop: StopRequest) -> int:
    """Write the `end` event for `exc`, which escaped training; return the exit status or re-raise `exc`.

    After a stop signal, a second one raises KeyboardInterrupt (Lightning turns it into SystemExit): the
    run is `stopped` and the entry exits with `FORCED_STOP_EXIT`. Anything else is `failed`, with the
    error, and propagates.
    """
    recorder.started = True  # an error before the first step still ends the run's story
    if isinstance(exc, (KeyboardInterrupt, SystemExit)) and stop.requested:
        recorder.end("stopped", reason=f"{stop.signal_name} (forced)")
        return FORCED_STOP_EXIT
    recorder.end("failed", error=exc)
    raise exc


def train_reported(ctx: RunContext, train: Callable[[], int]) -> int:
    """Run `train` between the run's start line and its end line (folded from its events), on rank 0.

    An error still gets its end line (the traceback follows it), except bad input found once training
    began: its one `error:` line (`run_main`) says it all.
    """
    if is_child_rank():
        return train()
    print(start_line(ctx.name, ctx.run_dir, ctx.entry, ctx.resume_ckpt), flush=True)
    try:
        code = train()
    except (UserError, ConfigError):
        raise
    except BaseException:
        print(end_line(ctx.run_dir, ctx.config.get("checkpoint") or {}), flush=True)
        raise
    print(end_line(ctx.run_dir, ctx.config.get("checkpoint") or {}), flush=True)
    return code


def run_main(body: Callable[[], int]) -> None:
    """Run an entry: user errors print one line and exit 2, never a traceback."""
    try:
        code = body()
    except (UserError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = USAGE_EXIT
    sys.exit(code)
