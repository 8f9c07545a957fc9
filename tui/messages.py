"""Every message the TUI's workers post; handlers on screens own the widget state."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.configs import Verdict
from tui.gpus import Sample
from tui.runs import RunRow


@dataclass
class RunsChanged(Message):
    """Rows that are new or changed since the last scan, and directories that disappeared."""

    changed: list[RunRow]
    removed: list[str]
    total: int


@dataclass
class GpusSampled(Message):
    sample: Sample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GpusSampled)


@dataclass
class ConfigValidated(Message):
    """A verdict on (config, overrides); `final` is False for the fast structural pass."""

    key: tuple[str, str]
    verdict: Verdict
    final: bool


@dataclass
class LaunchFinished(Message):
    name: str
    error: str | None


@dataclass
class ActionFinished(Message):
    """A stop, kill or resume has been carried out (or refused, with `error`)."""

    text: str
    error: bool = False


@dataclass
class StopOverdue(Message):
    """A stopped run still has processes after the grace period: the user may kill it."""

    name: str
    pid: int
    pgid: int
