"""One plot of the sweep view (`tui.queue.sweeps.view.Plot`): a braille scatter of trials, with the best so
far as steps, on a log x axis where the swept key is log."""

from __future__ import annotations

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from tui.queue.sweeps.view import Plot

POINTS, LINE = "cyan", "orange"


class SweepPlot(PlotextPlot):
    """`show(plot)` replaces what is drawn; the figure is rebuilt only when the plot or the size changed,
    and a plot shown again unchanged repaints nothing."""

    DEFAULT_CSS = "SweepPlot { width: 1fr; height: 1fr; min-height: 6; }"

    def __init__(self, plot: Plot, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.plot = plot
        self._drawn: tuple[object, ...] | None = None

    def show(self, plot: Plot) -> None:
        if plot != self.plot:
            self.plot, self._drawn = plot, None
            self.refresh()

    def render(self) -> RenderResult:
        key = (self.plot, self.size)
        if key != self._drawn:
            self._drawn = key
            self._draw()
        return super().render()

    def _draw(self) -> None:
        plt, plot = self.plt, self.plot
        plt.clear_figure()
        plt.title(plot.title)
        plt.xlabel(plot.xlabel)
        if plot.log:
            plt.xscale("log")
        if plot.ticks:
            plt.xticks(list(range(len(plot.ticks))), list(plot.ticks))
        if plot.points:
            xs, ys = [x for x, _ in plot.points], [y for _, y in plot.points]
            plt.scatter(xs, ys, marker="braille", color=POINTS)
        if len(plot.line) > 1:
            plt.plot(*_steps(plot.line), marker="braille", color=LINE)


def _steps(line: tuple[tuple[float, float], ...]) -> tuple[list[float], list[float]]:
    """The line as steps: a best so far holds until the trial that beats it."""
    xs, ys = [line[0][0]], [line[0][1]]
    for x, y in line[1:]:
        xs += [x, x]
        ys += [ys[-1], y]
    return xs, ys
