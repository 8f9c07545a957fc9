"""A metric's history in bounded memory: bucketed means (with min and max) that double in width.

A run can log a million steps; a plot needs a few hundred points. `Series` keeps at most `capacity`
buckets: when they fill up, neighbours merge pairwise and each bucket then covers twice as many
points, so memory stays constant and the shape (including spikes, through min/max) survives.
Latest and best values are kept exactly. Torch- and Textual-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_CAPACITY = 512


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    epoch: int | None


class Series:
    """Points (x ascending, y) of one metric; `mode` is "min" or "max" (which value is best)."""

    def __init__(self, mode: str = "min", capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.mode, self.capacity = mode, capacity
        self.width = 1
        self.count = 0
        self.latest: Point | None = None
        self.best: Point | None = None
        self._xs: list[float] = []
        self._ys: list[float] = []
        self._mins: list[float] = []
        self._maxs: list[float] = []
        self._ns: list[int] = []
        self._open: list[float] = [0.0, 0.0, math.inf, -math.inf]
        self._open_n = 0

    def add(self, x: float, y: float, epoch: int | None = None) -> None:
        self.count += 1
        self.latest = Point(x, y, epoch)
        if not math.isfinite(y):
            return
        if self.best is None or (y < self.best.y if self.mode == "min" else y > self.best.y):
            self.best = self.latest
        acc = self._open
        acc[0] += x
        acc[1] += y
        acc[2] = min(acc[2], y)
        acc[3] = max(acc[3], y)
        self._open_n += 1
        if self._open_n >= self.width:
            self._close()

    def _close(self) -> None:
        n, acc = self._open_n, self._open
        self._xs.append(acc[0] / n)
        self._ys.append(acc[1] / n)
        self._mins.append(acc[2])
        self._maxs.append(acc[3])
        self._ns.append(n)
        self._open, self._open_n = [0.0, 0.0, math.inf, -math.inf], 0
        if len(self._xs) >= self.capacity:
            self._halve()

    def _halve(self) -> None:
        xs, ys, ns = self._xs, self._ys, self._ns
        pairs = range(0, len(xs) - 1, 2)
        merged_n = [ns[i] + ns[i + 1] for i in pairs]
        self._xs = [(xs[i] * ns[i] + xs[i + 1] * ns[i + 1]) / m for i, m in zip(pairs, merged_n, strict=True)]
        self._ys = [(ys[i] * ns[i] + ys[i + 1] * ns[i + 1]) / m for i, m in zip(pairs, merged_n, strict=True)]
        self._mins = [min(self._mins[i], self._mins[i + 1]) for i in pairs]
        self._maxs = [max(self._maxs[i], self._maxs[i + 1]) for i in pairs]
        self._ns = merged_n
        self.width *= 2

    def __len__(self) -> int:
        return len(self._xs) + (1 if self._open_n else 0)

    def points(self) -> tuple[list[float], list[float]]:
        """(xs, ys): one mean per bucket, the partly filled last bucket included."""
        xs, ys = list(self._xs), list(self._ys)
        if self._open_n:
            xs.append(self._open[0] / self._open_n)
            ys.append(self._open[1] / self._open_n)
        return xs, ys

    def envelope(self) -> tuple[list[float], list[float]]:
        """(mins, maxs) per bucket, aligned with `points()`."""
        mins, maxs = list(self._mins), list(self._maxs)
        if self._open_n:
            mins.append(self._open[2])
            maxs.append(self._open[3])
        return mins, maxs


def thin(xs: list[float], ys: list[float], limit: int) -> tuple[list[float], list[float]]:
    """At most `limit` points for drawing: bucket means over equal runs of points."""
    n = len(xs)
    if n <= limit or limit < 1:
        return xs, ys
    out_x, out_y = [], []
    for k in range(limit):
        lo, hi = k * n // limit, (k + 1) * n // limit
        out_x.append(sum(xs[lo:hi]) / (hi - lo))
        out_y.append(sum(ys[lo:hi]) / (hi - lo))
    return out_x, out_y
