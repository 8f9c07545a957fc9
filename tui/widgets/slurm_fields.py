"""The launch dialog's Slurm fields: partition, time limit, nodes, GPUs and tasks per node, CPUs per
task, and extra `#SBATCH` options. Shown in place of the device picker when the backend is Slurm."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label

from tui.launch.slurm import SlurmSpec, spec_from_fields

DIGITS = r"[0-9]*"


class SlurmFields(Vertical):
    DEFAULT_CSS = """
    SlurmFields { height: auto; }
    SlurmFields Horizontal { height: 1; }
    SlurmFields Label { width: auto; padding-right: 1; }
    SlurmFields Label.first { width: 11; padding-right: 0; }
    SlurmFields Input { width: 1fr; margin-right: 2; }
    SlurmFields Input.count { width: 5; }
    SlurmFields #sbatch-extra { margin-right: 0; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("partition", classes="first")
            yield Input(id="partition", compact=True, placeholder="default")
            yield Label("time")
            yield Input(id="time-limit", compact=True, placeholder="none (D-HH:MM:SS)")
            yield Label("nodes")
            yield Input("1", id="nodes", compact=True, classes="count", restrict=DIGITS, max_length=4)
        with Horizontal():
            yield Label("GPUs/node", classes="first")
            yield Input("0", id="gpus-per-node", compact=True, classes="count", restrict=DIGITS, max_length=3)
            yield Label("tasks/node")
            yield Input(id="tasks-per-node", compact=True, classes="count", restrict=DIGITS, max_length=3,
                        placeholder="=GPUs")
            yield Label("CPUs/task")
            yield Input(id="cpus-per-task", compact=True, classes="count", restrict=DIGITS, max_length=3)
        with Horizontal():
            yield Label("#SBATCH", classes="first")
            yield Input(id="sbatch-extra", compact=True, placeholder="--mem=8G --qos=high ...")

    def spec(self) -> tuple[SlurmSpec | None, str | None]:
        """(the spec, None), or (None, what is wrong) in one line."""
        value = {field.id: field.value for field in self.query(Input)}
        try:
            return spec_from_fields(value["partition"], value["time-limit"], value["nodes"],
                                    value["gpus-per-node"], value["tasks-per-node"], value["cpus-per-task"],
                                    value["sbatch-extra"]), None
        except ValueError as exc:
            return None, str(exc)
