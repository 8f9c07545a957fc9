"""Pick a phase's scalar metrics out of Lightning's `callback_metrics`.

A metric logged with both `on_step` and `on_epoch` appears as `name_step` and `name_epoch`; events
carry it under its plain name in the matching phase.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def phase_metrics(metrics: Mapping[str, Any], phase: str, prefixes: tuple[str, ...] = ()) -> dict[str, float]:
    """`phase` is "step" or "epoch"; keys carrying the other phase's suffix are left out."""
    other = "_epoch" if phase == "step" else "_step"
    own = f"_{phase}"
    result: dict[str, float] = {}
    for key, value in metrics.items():
        if key.endswith(other) or (prefixes and not key.startswith(prefixes)):
            continue
        # value.item() is a host sync: phase_metrics runs only at log points
        result[key.removesuffix(own)] = float(value.item() if hasattr(value, "item") else value)
    return result
