"""Validate a run completely — every object the entry builds, built cheaply — without training.

`python -m torchx.check --config C [key=value ...]` exits 0 when the config can run, else 2 with one
line naming the file, key and value. It runs exactly what an entry runs before it writes anything (the
entry's own check, then `check_run`), so a config it accepts does not fail while the entry builds its
objects: registry names and argument types, models (on the meta device: no memory), losses, optimizers
and schedulers (on a dummy parameter), callbacks, `checkpoint` against `ModelCheckpoint`, and the
`pl.Trainer` itself with the run's devices. `--serve` keeps one warm process answering a JSON request a
line, so the TUI's launch dialog (which never imports torch) pays the imports once, not per check.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from torchx.config import ConfigError, load_config
from torchx.errors import USAGE_EXIT, UserError
from torchx.formats import BASE_SPEC_KINDS, RESERVED_TRAINER_PARAMS
from torchx.registry import RegistryError, check_arguments, shown

if TYPE_CHECKING:
    import torch

    from torchx.session import RunContext

ENTRY_CHECKS = {"train_pl": "torchx.check:check_config",
                "train": "torchx.train:check_plain_config"}
CPU_PROCESSES_PER_CORE = 2  # DDP ranks on the CPU beyond this per core only thrash (or exhaust memory)
PLAIN_ACCELERATORS = ("auto", "cpu", "gpu", "cuda")
KIND_ORDER = ("models", "losses", "optim", "sched")  # optimizers before the schedulers built on them


def check_config(config: Mapping[str, Any], source: str, lightning: bool = True) -> None:
    """Raise ConfigError naming the key of the first problem; read no data, allocate no model.

    `lightning=False` (the plain entry) validates the `base` wrapper's specs without importing the
    wrapper and callback registries, which import Lightning.
    """
    with quiet():
        _check_data(config["data_module"], source)
        args, kinds = _wrapper_args(config["train_wrapper"], source, lightning)
        _check_specs(args, kinds, source)
        if lightning:
            _check_trainer_params(config.get("trainer_params") or {}, source)
            _check_checkpoint(config.get("checkpoint") or {}, source)
            _check_callbacks(config.get("callbacks") or [], source)


def check_run(ctx: RunContext, source: str) -> None:
    """What depends on this machine and the flags: the GPUs asked for exist, and the Lightning entry's
    `pl.Trainer` can be built with the run's arguments (nothing is launched)."""
    problem = _missing_gpu(ctx.gpus) if ctx.gpus else None
    if problem:
        raise UserError(f"--gpu {','.join(map(str, ctx.gpus or []))}: {problem}")
    if ctx.entry == "train_pl":
        _check_trainer(ctx, source)
    else:
        _check_plain(ctx, source)


def validate(config_path: str, overrides: list[str], entry: str = "train_pl",
             gpus: list[int] | None = None) -> None:
    """All an entry checks before it writes anything, in its order: config, its objects, the devices."""
    from torchx.session import RunContext

    config = load_config(config_path, overrides)
    entry_check(entry)(config, config_path)
    check_run(RunContext("check", Path(), config, config_path, [], None, gpus, entry), config_path)


def entry_check(entry: str) -> Callable[[dict[str, Any], str], None]:
    """The check function the entry passes to `session.prepare`: the same code, imported by name."""
    module, _, name = ENTRY_CHECKS[entry].partition(":")
    return getattr(importlib.import_module(module), name)


# ---- the config's objects ----

def _checked(source: str, key: str, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)`; any failure becomes one line under `key` (a RegistryError's own key appended)."""
    try:
        return fn(*args)
    except ConfigError:
        raise
    except RegistryError as exc:
        where = f"{key}.{exc.key}" if exc.key else key
        raise ConfigError(f"{source}: {where}: {exc}") from None
    except UserError as exc:
        raise ConfigError(f"{source}: {key}: {exc}") from None
    except Exception as exc:  # the constructor's own refusal (Lightning's, torch's)
        raise ConfigError(f"{source}: {key}: {one_line(exc)}") from None


def one_line(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"


def _check_data(spec: Mapping[str, Any], source: str) -> None:
    from torchx import datasets

    data_module = _checked(source, "data_module", datasets.datasets.make, spec)  # lazy: reads nothing
    _checked(source, "data_module", data_module.validate)


def _wrapper_args(spec: Mapping[str, Any], source: str,
                  lightning: bool) -> tuple[dict[str, Any], Mapping[str, str]]:
    """The wrapper's arguments (checked against its class) and the registry of each nested spec."""
    if not lightning:
        args = dict(spec.get("args") or {})
        for arg in args:
            if arg not in BASE_SPEC_KINDS:
                raise ConfigError(f"{source}: train_wrapper.args.{arg}: not an argument of the base wrapper "
                                  f"(accepts: {', '.join(BASE_SPEC_KINDS)})")
        for arg in ("model_spec", "loss_spec", "optim_spec"):
            if not args.get(arg):
                raise ConfigError(f"{source}: train_wrapper.args.{arg}: missing (required)")
        return args, BASE_SPEC_KINDS
    from torchx import wrappers

    args = _checked(source, "train_wrapper", wrappers.wrappers.check, spec)
    return args, getattr(wrappers.wrappers.get(spec["name"]), "spec_kinds", {})


def _check_specs(args: Mapping[str, Any], kinds: Mapping[str, str], source: str) -> None:
    optimizers: dict[str, torch.optim.Optimizer] = {}
    for arg, kind in sorted(kinds.items(), key=lambda item: KIND_ORDER.index(item[1])):
        if not args.get(arg):
            continue
        key = f"train_wrapper.args.{arg}"
        if kind == "sched":
            _checked(source, key, _check_sched, args[arg], optimizers.get(arg.replace("sched", "optim")))
        elif kind == "optim":
            optimizers[arg] = _checked(source, key, _check_optim, args[arg])
        else:
            _checked(source, key, _check_model if kind == "models" else _check_loss, args[arg])


def _check_model(spec: Mapping[str, Any]) -> None:
    """Build the model on the meta device (shapes, no memory) and refuse one larger than this machine's
    memory; a model that cannot be built there is built for real, as the entry would."""
    import psutil
    import torch

    from torchx import models

    try:
        with torch.device("meta"):
            model = models.make(spec)
    except UserError:
        raise
    except Exception:  # some models cannot live on the meta device: build it as the entry will
        models.make(spec)
        return
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    memory = psutil.virtual_memory().total
    if size > memory:
        count = sum(p.numel() for p in model.parameters())
        raise RegistryError(f"{spec['name']!r}: {count:,} parameters need {size / 2**30:,.1f} GiB, more than "
                            f"this machine's {memory / 2**30:,.1f} GiB of memory")


def _check_loss(spec: Mapping[str, Any]) -> None:
    from torchx import losses

    losses.make(spec)


def _check_optim(spec: Mapping[str, Any]) -> torch.optim.Optimizer:
    from torchx import optim

    return optim.check_optim_spec(spec)


def _check_sched(spec: Mapping[str, Any], optimizer: torch.optim.Optimizer | None) -> None:
    from torchx import optim

    optim.check_sched_spec(spec, optimizer)


def _check_trainer_params(params: Mapping[str, Any], source: str) -> None:
    """Names and types against `pl.Trainer`'s signature; the entry sets its own logger and callbacks."""
    import pytorch_lightning as pl

    for key in RESERVED_TRAINER_PARAMS:
        if key in params:
            raise ConfigError(f"{source}: trainer_params.{key}: {shown(params[key])}: set by torchx (use the "
                              "'callbacks' and 'checkpoint' sections instead)")
    _checked(source, "trainer_params", check_arguments, pl.Trainer, params, "pytorch_lightning.Trainer",
             (), "")


def _check_checkpoint(ckpt: Mapping[str, Any], source: str) -> None:
    """Names and types against `ModelCheckpoint`, then one built (Lightning checks mode, top-k, ...);
    `dirpath`, the run's own, is refused by the structure check."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    _checked(source, "checkpoint", check_arguments, ModelCheckpoint, ckpt, "ModelCheckpoint", (), "")
    _checked(source, "checkpoint", lambda: ModelCheckpoint(**ckpt))


def _check_callbacks(specs: list[Mapping[str, Any]], source: str) -> None:
    from torchx import callbacks

    for i, spec in enumerate(specs):
        _checked(source, f"callbacks[{i}]", callbacks.callbacks.make, spec)


# ---- this machine ----

def _missing_gpu(gpus: list[int]) -> str | None:
    """Why a GPU id is not usable here (CUDA_VISIBLE_DEVICES counts), or None."""
    import torch

    visible = torch.cuda.device_count()
    missing = [g for g in gpus if g >= visible]
    if not missing:
        return None
    return f"no GPU {missing[0]} on this machine ({f'{visible} visible' if visible else 'none visible'})"


def _check_trainer(ctx: RunContext, source: str) -> None:
    """Build the entry's Trainer with the run's arguments (accelerator, strategy, precision and devices
    are resolved, nothing is launched), then refuse more CPU processes than the cores can run."""
    import pytorch_lightning as pl

    from torchx.train_pl import trainer_params

    params = trainer_params(ctx)
    problem = _missing_gpu([0]) if params.get("accelerator") in ("gpu", "cuda") and not ctx.gpus else None
    if problem:
        raise ConfigError(f"{source}: trainer_params.accelerator: {params['accelerator']!r}: {problem}")
    with quiet():
        try:
            trainer = pl.Trainer(**params, logger=False, enable_checkpointing=False, callbacks=[])
        except Exception as exc:
            raise ConfigError(f"{source}: {_guilty(params, str(exc), ctx.gpus)}: {one_line(exc)}") from None
    _check_cpu_processes(trainer, params, source)


def _guilty(params: Mapping[str, Any], message: str, gpus: list[int] | None) -> str:
    """`key: value` of the Trainer argument a refusal names (`--gpu` when the flag set it)."""
    for key in ("accelerator", "strategy", "precision", "devices", "num_nodes", *params):
        if key in params and f"{key}" in message:
            if gpus and key in ("accelerator", "devices"):
                return f"--gpu {','.join(map(str, gpus))}"
            return f"trainer_params.{key}: {shown(params[key])}"
    return "trainer_params"


def _check_cpu_processes(trainer: Any, params: Mapping[str, Any], source: str) -> None:
    """The Lightning launcher starts one process per CPU device; cap them by the cores this process may
    use. Ranks a cluster starts (srun) are the cluster's business."""
    from pytorch_lightning.accelerators import CPUAccelerator

    environment = getattr(trainer.strategy, "cluster_environment", None)
    if not isinstance(trainer.accelerator, CPUAccelerator) or getattr(
            environment, "creates_processes_externally", False):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cap = CPU_PROCESSES_PER_CORE * cores
    if trainer.num_devices > cap:
        raise ConfigError(f"{source}: trainer_params.devices: {shown(params.get('devices'))}: "
                          f"{trainer.num_devices} CPU processes on {cores} cores (at most {cap})")


def _check_plain(ctx: RunContext, source: str) -> None:
    """The plain entry runs on one device it picks itself (`torchx.train.pick_device`), and ignores the
    Trainer arguments it does not honour — but not a misspelt one it does."""
    from torchx.train import PLAIN_TRAINER_PARAMS

    if ctx.gpus and len(ctx.gpus) > 1:
        raise UserError(f"--gpu {','.join(map(str, ctx.gpus))}: the plain entry uses one device "
                        "(use python -m torchx.train_pl for DDP)")
    params = ctx.config.get("trainer_params") or {}
    accelerator = params.get("accelerator", "auto")
    if accelerator not in PLAIN_ACCELERATORS:
        raise ConfigError(f"{source}: trainer_params.accelerator: {shown(accelerator)}: the plain entry "
                          f"runs on one of {', '.join(PLAIN_ACCELERATORS)}")
    for key in params:
        close = difflib.get_close_matches(str(key), PLAIN_TRAINER_PARAMS, n=1, cutoff=0.85)
        if key not in PLAIN_TRAINER_PARAMS and close:
            raise ConfigError(f"{source}: trainer_params.{key}: {shown(params[key])}: not a Trainer argument "
                              f"(did you mean '{close[0]}'?)")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No warnings and no log lines while objects are built only to be checked: a refused run prints one
    line, and an accepted one prints Lightning's start-up lines once, when it builds its own."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


# ---- the command ----

def serve(requests: IO[str], answers: IO[str]) -> int:
    """Answer each JSON line `{"id", "config", "overrides", "entry"?, "gpu"?}` with one JSON line
    `{"id", "ok", "message"}` until the input ends."""
    _warm_up()
    for line in requests:
        try:
            request = json.loads(line)
            answer = {"id": request.get("id"), **_verdict(request)}
        except (ValueError, AttributeError) as exc:
            answer = {"id": None, "ok": False, "message": f"bad request: {one_line(exc)}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


def _verdict(request: Mapping[str, Any]) -> dict[str, Any]:
    from torchx.session import parse_gpus

    try:
        validate(str(request["config"]), [str(o) for o in request.get("overrides") or []],
                 request.get("entry", "train_pl"), parse_gpus(request.get("gpu")))
    except UserError as exc:
        return {"ok": False, "message": str(exc)}
    except Exception as exc:  # a bug or a broken environment: still one line, and the server lives on
        return {"ok": False, "message": f"torchx.check failed: {one_line(exc)}"}
    return {"ok": True, "message": "config ok"}


def _warm_up() -> None:
    """Import what every check needs before the first request arrives."""
    import pytorch_lightning  # noqa: F401

    from torchx import callbacks, datasets, losses, models, optim, train_pl, wrappers  # noqa: F401


def _answers_channel() -> IO[str]:
    """The real stdout for answers; anything else printed (a library's banner) goes to stderr."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return channel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m torchx.check", description=__doc__)
    parser.add_argument("--config")
    parser.add_argument("--entry", choices=sorted(ENTRY_CHECKS), default="train_pl",
                        help="check for this entry (default: train_pl)")
    parser.add_argument("--gpu", help="the entry's --gpu flag, checked against this machine's GPUs")
    parser.add_argument("--serve", action="store_true", help="answer JSON requests on stdin, one a line")
    parser.add_argument("overrides", nargs="*", help="key.path=value")
    args = parser.parse_intermixed_args(argv)
    if args.serve:
        return serve(sys.stdin, _answers_channel())
    if not args.config:
        parser.error("--config is required")
    try:
        from torchx.session import parse_gpus

        validate(args.config, args.overrides, args.entry, parse_gpus(args.gpu))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_EXIT
    print(f"ok: {args.config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
