"""Optimizers and schedulers from specs, by their `torch.optim` class name (shared by both entries)."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from torchx.errors import UserError


def _resolve(module: Any, spec: Mapping[str, Any], key: str) -> Any:
    name = spec.get("name") if isinstance(spec, Mapping) else None
    cls = getattr(module, name, None) if isinstance(name, str) else None
    if not inspect.isclass(cls):
        known = sorted(n for n, v in vars(module).items() if inspect.isclass(v) and not n.startswith("_"))
        raise UserError(f"{key}.name: unknown {module.__name__} class {name!r}; known: {', '.join(known)}")
    return cls


def _bind(cls: Any, key: str, first: Any, args: Mapping[str, Any]) -> None:
    try:
        inspect.signature(cls).bind(first, **args)
    except TypeError as exc:
        raise UserError(f"{key}.args: {cls.__name__}: {exc}") from None


def check_optim_spec(spec: Mapping[str, Any], key: str) -> None:
    _bind(_resolve(torch.optim, spec, key), key, [], spec.get("args") or {})


def check_sched_spec(spec: Mapping[str, Any], key: str) -> None:
    _bind(_resolve(torch.optim.lr_scheduler, spec, key), key, None, spec.get("args") or {})


def build_optimizer(spec: Mapping[str, Any], params: Iterable[Any]) -> torch.optim.Optimizer:
    cls = _resolve(torch.optim, spec, "optim_spec")
    return cls(params, **dict(spec.get("args") or {}))


def build_scheduler(spec: Mapping[str, Any] | None, optimizer: torch.optim.Optimizer) -> Any:
    """A scheduler stepped once per epoch, or None when the spec is empty."""
    if not spec:
        return None
    cls = _resolve(torch.optim.lr_scheduler, spec, "sched_spec")
    return cls(optimizer, **dict(spec.get("args") or {}))
