"""Pick a phase's scalar metrics out of Lightning's `callback_metrics`.

A metric logged with both `on_step` and `on_epoch` appears as `name_step` and `name_epoch`; events
carry it under its plain name in the matching phase.
"""

from __future__ import annotations

import math
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
        number = float(value.item() if hasattr(value, "item") else value)  # host sync: log points only
        result[key[: -len(own)] if key.endswith(own) else key] = number if math.isfinite(number) else number
    return result
