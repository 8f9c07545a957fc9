"""Optimizers and schedulers from specs, by their `torch.optim` class name (shared by both entries).

`check_optim_spec` / `check_sched_spec` build them for real on one dummy parameter, so every value
torch itself rejects (a negative or infinite rate, betas out of range, `T_max: 0`) is refused before
a run starts; a scheduler is stepped a few epochs, as training would. Errors are `RegistryError`s
whose key (`name`, `args.lr`) is relative to the spec.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from torchx.registry import RegistryError, check_arguments, require

MAX_LR = 1e3  # beyond this every torch optimizer overflows or diverges at once
CHECKED_EPOCHS = 3  # scheduler steps tried: enough to reach a division by a zero period


def _resolve(module: Any, spec: Mapping[str, Any]) -> Any:
    name = spec.get("name") if isinstance(spec, Mapping) else None
    cls = getattr(module, name, None) if isinstance(name, str) else None
    if not inspect.isclass(cls):
        known = sorted(n for n, v in vars(module).items() if inspect.isclass(v) and not n.startswith("_"))
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise RegistryError(f"unknown {module.__name__} class {name!r}{hint}; known: {', '.join(known)}",
                            key="name")
    return cls


def _args(spec: Mapping[str, Any]) -> dict[str, Any]:
    return dict(spec.get("args") or {})


def _trial(cls: Any, build: Any) -> Any:
    """`build()`, with whatever torch raises turned into one line about the spec's arguments."""
    try:
        return build()
    except Exception as exc:
        message = " ".join(str(exc).split())
        raise RegistryError(f"{cls.__module__}.{cls.__name__}: {exc.__class__.__name__}: {message}",
                            key="args") from None


def check_optim_spec(spec: Mapping[str, Any]) -> torch.optim.Optimizer:
    """The optimizer built on one dummy parameter (for `check_sched_spec`); RegistryError if it cannot be."""
    cls = _resolve(torch.optim, spec)
    args = _args(spec)
    check_arguments(cls, args, f"torch.optim.{cls.__name__}", positional=([],))
    require(args, "lr", lambda v: 0 <= v <= MAX_LR, f"must be from 0 to {MAX_LR:g}")
    return _trial(cls, lambda: cls([torch.nn.Parameter(torch.zeros(1))], **args))


def check_sched_spec(spec: Mapping[str, Any], optimizer: torch.optim.Optimizer | None = None) -> None:
    """Build the scheduler on `optimizer` (a dummy SGD when None) and step it `CHECKED_EPOCHS` times."""
    cls = _resolve(torch.optim.lr_scheduler, spec)
    args = _args(spec)
    check_arguments(cls, args, f"torch.optim.lr_scheduler.{cls.__name__}", positional=(None,))
    optimizer = optimizer or torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = _trial(cls, lambda: cls(optimizer, **args))
    for _ in range(CHECKED_EPOCHS):
        optimizer.step()
        _trial(cls, scheduler.step)
    rates = [group["lr"] for group in optimizer.param_groups]
    if not all(math.isfinite(float(rate)) for rate in rates):
        raise RegistryError(f"torch.optim.lr_scheduler.{cls.__name__}: the learning rate becomes {rates[0]} "
                            f"within {CHECKED_EPOCHS} epochs", key="args")


def build_optimizer(spec: Mapping[str, Any], params: Iterable[Any]) -> torch.optim.Optimizer:
    cls = _resolve(torch.optim, spec)
    return cls(params, **_args(spec))


def build_scheduler(spec: Mapping[str, Any] | None, optimizer: torch.optim.Optimizer) -> Any:
    """A scheduler stepped once per epoch, or None when the spec is empty."""
    if not spec:
        return None
    cls = _resolve(torch.optim.lr_scheduler, spec)
    return cls(optimizer, **_args(spec))
