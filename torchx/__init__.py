"""torchx: registered datasets, models, losses, wrappers and callbacks, built from YAML configs.

Importing this package is cheap (no torch): the training entries import what they need, and
`torchx.load_run` imports torch only when first used.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "load_run":
        from torchx.loading import load_run

        return load_run
    raise AttributeError(f"module 'torchx' has no attribute {name!r}")
