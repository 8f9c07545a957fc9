"""A metric plot: one series, or several overlaid (train vs val, or one metric of several runs),
against step or epoch."""

from __future__ import annotations

import itertools

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from tui.live.series import thin

COLORS = ("cyan", "orange")


class MetricPlot(PlotextPlot):
    """`show(...)` replaces what is drawn; the figure is rebuilt only when that changed."""

    DEFAULT_CSS = "MetricPlot { width: 1fr; height: 1fr; min-height: 6; }"

    def __init__(self, colors: tuple[str, ...] = COLORS, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.series_colors = colors
        self.plot_title = ""
        self.labels: tuple[str, ...] = ()
        self.axis = "step"
        self._data: dict[str, tuple[list[float], list[float]]] = {}
        self._spe: int | None = None
        self._drawn: tuple[object, ...] | None = None

    def show(self, data: dict[str, tuple[list[float], list[float]]], labels: tuple[str, ...],
             axis: str, steps_per_epoch: int | None, title: str = "") -> None:
        """`title` defaults to the labels ("train/loss vs val/loss"); the same picture is not redrawn."""
        shown = {label: data[label] for label in labels if label in data}
        if (shown, labels, axis, steps_per_epoch, title) == (self._data, self.labels, self.axis, self._spe,
                                                             self.plot_title) and self._drawn is not None:
            return
        self._data = {label: (list(xs), list(ys)) for label, (xs, ys) in shown.items()}
        self.labels, self.axis, self._spe, self.plot_title = labels, axis, steps_per_epoch, title
        self._drawn = None
        self.refresh()

    def render(self) -> RenderResult:
        key = (self.labels, self.axis, self.size)
        if key != self._drawn:
            self._drawn = key
            self._draw()
        return super().render()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        per_epoch = self.axis == "epoch" and bool(self._spe)
        limit = max(8, 2 * self.size.width)
        for color, label in zip(itertools.cycle(self.series_colors), self.labels):
            xs, ys = self._data.get(label, ([], []))
            if per_epoch:
                xs = [x / self._spe for x in xs]  # type: ignore[operator]
            xs, ys = thin(xs, ys, limit)
            if xs:
                plt.plot(xs, ys, label=label if len(self.labels) > 1 else None, color=color,
                         marker="braille")
        plt.title(self.plot_title or (" vs ".join(self.labels) if self.labels else "no metrics yet"))
        plt.xlabel("epoch" if per_epoch else "step")
