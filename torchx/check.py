"""Validate a config completely — registry names, arguments, optimizer, data files — without training.

`python -m torchx.check --config C [key=value ...]` exits 0 when the config can run, else 2 with one
line naming the file and key; the TUI runs it in a subprocess so its own process never imports torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from torchx.config import ConfigError, load_config
from torchx.errors import USAGE_EXIT, UserError
from torchx.formats import BASE_SPEC_KINDS


def _checked(source: str, key: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ConfigError:
        raise
    except UserError as exc:
        raise ConfigError(f"{source}: {key}: {exc}") from None


def check_config(config: Mapping[str, Any], source: str, lightning: bool = True) -> None:
    """Raise ConfigError naming the key of the first problem; build nothing heavy (no data is read).

    `lightning=False` (the plain entry) validates the `base` wrapper's specs without importing the
    wrapper and callback registries, which import Lightning.
    """
    from torchx import datasets, losses, models, optim

    dm_args = _checked(source, "data_module", datasets.datasets.check, config["data_module"])
    try:
        data_module = datasets.datasets.get(config["data_module"]["name"])(**dm_args)
    except TypeError as exc:
        raise ConfigError(f"{source}: data_module.args: {exc}") from None
    _checked(source, "data_module", data_module.validate)
    spec_checks = {
        "models": models.models.check, "losses": losses.losses.check,
        "optim": lambda s: optim.check_optim_spec(s, "optim_spec"),
        "sched": lambda s: optim.check_sched_spec(s, "sched_spec"),
    }
    args, kinds = _wrapper_args(config["train_wrapper"], source, lightning)
    for arg, kind in kinds.items():
        if args.get(arg):
            _checked(source, f"train_wrapper.args.{arg}", spec_checks[kind], args[arg])
    if lightning:
        from torchx import callbacks, wrappers

        # A wrapper may check how its arguments fit together (`check_args`), beyond each one's spec.
        check_args = getattr(wrappers.wrappers.get(config["train_wrapper"]["name"]), "check_args", None)
        if check_args is not None:
            _checked(source, "train_wrapper.args", check_args, args)
        for i, spec in enumerate(config.get("callbacks") or []):
            _checked(source, f"callbacks[{i}]", callbacks.callbacks.check, spec)


def _wrapper_args(spec: Mapping[str, Any], source: str,
                  lightning: bool) -> tuple[dict[str, Any], Mapping[str, str]]:
    """The wrapper's arguments and how to check each nested spec."""
    if not lightning:
        return dict(spec.get("args") or {}), BASE_SPEC_KINDS
    from torchx import wrappers

    args = _checked(source, "train_wrapper", wrappers.wrappers.check, spec)
    return args, getattr(wrappers.wrappers.get(spec["name"]), "spec_kinds", {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m torchx.check", description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("overrides", nargs="*", help="key.path=value")
    args = parser.parse_intermixed_args(argv)
    try:
        check_config(load_config(args.config, args.overrides), args.config)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_EXIT
    print(f"ok: {args.config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
