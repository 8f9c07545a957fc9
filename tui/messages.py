"""Every message the TUI's workers post; handlers on screens own the widget state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # annotations only: the run view's modules load when a run is first opened
    from tui.history.compare import RunMetrics
    from tui.history.diff import RunsDiff
    from tui.history.tidy import RunSize
    from tui.launch.backends import RunHandle
    from tui.launch.checks import Verdict
    from tui.launch.fork import ForkPrefill
    from tui.live.watch import RunSnapshot
    from tui.run.processes import ProcRow
    from tui.system.gpu_history import GpuHistory
    from tui.system.gpus import Sample
    from tui.table.rows import RunRow


@dataclass
class RunsChanged(Message):
    """Rows that are new or changed since the last scan, and directories that disappeared."""

    changed: list[RunRow]
    removed: list[str]
    total: int


@dataclass
class RunSized(Message):
    """A run's size on disk and the trash's (entries, bytes), for the tidy dialog."""

    name: str
    size: RunSize
    trash: tuple[int, int]


@dataclass
class ForkPrefilled(Message):
    """What the launch dialog starts from to fork a past run."""

    prefill: ForkPrefill


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
    """A stopped run still has processes (or a live Slurm job) after the grace period: the user may
    kill it."""

    name: str
    handle: RunHandle


@dataclass
class GpusShared(Message, bubble=False):
    """The app's one GPU sampler, forwarded to the active screen with the recent history."""

    sample: Sample
    history: GpuHistory

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GpusShared)


@dataclass
class RunSnapshotReady(Message):
    """The run view's worker folded new events (or the status changed); `taken_at` is its clock."""

    snapshot: RunSnapshot
    taken_at: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunSnapshotReady)


@dataclass
class LogLinesRead(Message):
    """Lines completed in one of the run's logs since the last poll (never coalesced)."""

    source: str
    lines: list[str]


@dataclass
class ProcsSampled(Message):
    rows: list[ProcRow]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ProcsSampled)


@dataclass
class GpuOwnersFound(Message):
    """(GPU, pid, user, GPU memory, owner) rows: the run or foreign process on each GPU."""

    rows: list[tuple[str, ...]]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GpuOwnersFound)


@dataclass
class DiffReady(Message):
    """Two runs compared: configs, code snapshots and git state."""

    diff: RunsDiff


@dataclass
class CompareLoaded(Message):
    """The marked runs' metrics; `complete` is False while a large log is still being read through."""

    runs: list[RunMetrics]
    complete: bool
