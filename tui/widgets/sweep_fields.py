"""The launch dialog's sweep fields: the space, the sampler and its trials, the objective and its mode,
pruning, and how many trials at once, over a line that previews what the sweep will do or says what is
wrong. Shown under the overrides while the dialog's `sweep` box is ticked; each trial's devices are the
dialog's own (its picker, or its Slurm fields). This widget holds values only: checking and making the
sweep is `tui.queue.sweeps.make`'s (Optuna-free at import).

The sampler follows the space until the user picks another: grid while every key is a list of
choices, else tpe. The trials field is disabled for a grid, which runs each of its points once.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, Static

from tui.queue.sweeps.make import space_words
from tui.queue.sweeps.space import SpaceError, parse_space
from tui.queue.sweeps.spec import MODES, SAMPLERS

SPACE_HINT = "lr=1e-3,3e-4 wd=loguniform(1e-5,1e-2) · keys apart by spaces"
DIGITS = r"[0-9]*"


class Choice(RadioButton):
    """A radio button whose state reads without colour: `▐●▌` pressed, `▐ ▌` not (Textual draws `●` in
    both, told apart by colour only)."""

    def render(self) -> Content:
        self.BUTTON_INNER = "●" if self.value else " "
        return super().render()


class Tick(Checkbox):
    """A checkbox whose state reads without colour: `▐X▌` ticked, `▐ ▌` not."""

    def render(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super().render()


@dataclass(frozen=True)
class SweepValues:
    """What the fields say, as plain values for `make.build_sweep`."""

    space: tuple[str, ...]
    sampler: str
    trials: int | None
    """None for a grid (its size) or when left empty."""
    metric: str | None
    mode: str
    prune: bool
    parallel: int


class SweepFields(Vertical):
    DEFAULT_CSS = """
    SweepFields { height: auto; }
    SweepFields Horizontal { height: 1; }
    SweepFields Label { width: auto; padding-right: 1; }
    SweepFields Label.first { width: 12; padding-right: 0; }
    SweepFields Label.count-label { width: 11; padding-right: 1; text-align: right; }
    SweepFields Input { width: 1fr; }
    SweepFields Input.count { width: 5; }
    SweepFields RadioSet { layout: horizontal; width: auto; background: transparent; border: none; }
    SweepFields RadioSet > RadioButton { width: auto; margin-right: 1; }
    SweepFields #sweep-mode { margin-left: 1; }
    SweepFields #sweep-preview { height: 1; padding-left: 12; }
    """

    class Changed(Message):
        """A field changed: the dialog redraws the preview."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._auto_sampler = "grid"
        """The sampler the space last chose; the user's own pick, once different, is kept."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("space", classes="first")
            yield Input(id="sweep-space", compact=True, placeholder=SPACE_HINT)
        with Horizontal():
            yield Label("sampler", classes="first")
            yield RadioSet(*[Choice(name, value=name == "grid") for name in SAMPLERS], id="sweep-sampler",
                           compact=True)
            yield Label("trials", classes="count-label")
            yield Input(id="sweep-trials", compact=True, classes="count", restrict=DIGITS, max_length=5,
                        disabled=True, placeholder="grid")
            yield Label("at once", classes="count-label")
            yield Input("1", id="sweep-parallel", compact=True, classes="count", restrict=DIGITS,
                        max_length=3)
        with Horizontal():
            yield Label("objective", classes="first")
            yield Input(id="sweep-metric", compact=True, placeholder="metric, e.g. val/acc")
            yield RadioSet(*[Choice(m, value=m == "min") for m in MODES], id="sweep-mode", compact=True)
            yield Tick("prune", id="sweep-prune", compact=True)
        yield Static("", id="sweep-preview", markup=False)

    # ---- what the user changes ----

    @on(Input.Changed, "#sweep-space")
    def space_changed(self, event: Input.Changed) -> None:
        """The sampler follows the space (grid for choices only, else tpe) unless the user chose one."""
        event.stop()
        try:
            auto = "grid" if parse_space(space_words(event.value)).is_grid() else "tpe"
        except SpaceError:
            auto = self._auto_sampler  # half typed: keep what it was
        if auto != self._auto_sampler and self.sampler == self._auto_sampler:
            self.query_one("#sweep-sampler", RadioSet).query(Choice)[SAMPLERS.index(auto)].value = True
        self._auto_sampler = auto
        self.post_message(self.Changed())

    @on(RadioSet.Changed, "#sweep-sampler")
    def sampler_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self.query_one("#sweep-trials", Input).disabled = self.sampler == "grid"
        self.query_one("#sweep-trials", Input).placeholder = "grid" if self.sampler == "grid" else "N"
        self.post_message(self.Changed())

    @on(Input.Changed, "#sweep-trials, #sweep-parallel, #sweep-metric")
    @on(RadioSet.Changed, "#sweep-mode")
    @on(Checkbox.Changed, "#sweep-prune")
    def other_changed(self, event: Message) -> None:
        event.stop()
        self.post_message(self.Changed())

    # ---- read and set ----

    @property
    def sampler(self) -> str:
        index = self.query_one("#sweep-sampler", RadioSet).pressed_index
        return SAMPLERS[index] if index >= 0 else "grid"

    def values(self) -> SweepValues:
        """The fields as they stand (the counts are digits only: the inputs refuse anything else)."""
        text = {field.id: field.value.strip() for field in self.query(Input)}
        mode_index = self.query_one("#sweep-mode", RadioSet).pressed_index
        sampler = self.sampler
        trials = int(text["sweep-trials"]) if text["sweep-trials"] and sampler != "grid" else None
        return SweepValues(tuple(space_words(text["sweep-space"])), sampler, trials,
                           text["sweep-metric"] or None, MODES[max(mode_index, 0)],
                           self.query_one("#sweep-prune", Checkbox).value, int(text["sweep-parallel"] or 0))

    def set_objective(self, metric: str, mode: str) -> None:
        """Prefill the objective (the config's `checkpoint.monitor` and `mode`)."""
        self.query_one("#sweep-metric", Input).value = metric
        if mode in MODES:
            self.query_one("#sweep-mode", RadioSet).query(Choice)[MODES.index(mode)].value = True

    def show_preview(self, text: str, ok: bool) -> None:
        preview = self.query_one("#sweep-preview", Static)
        preview.update(text if ok else f"✘ {text}")
        preview.set_class(not ok, "error")
