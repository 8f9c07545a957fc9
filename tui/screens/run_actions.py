"""Stop, kill and resume from the run view: confirmations on the UI thread, signals in workers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.screen import Screen

from tui.errors import LaunchError
from tui.launch import backends
from tui.messages import ActionFinished, StopOverdue
from tui.run.status import ACTIVE, RESUMABLE
from tui.screens.confirm import ConfirmScreen, on_yes

if TYPE_CHECKING:
    from tui.launch.backends import RunHandle
    from tui.live.watch import RunSnapshot
from tui.settings import Settings

Post = Callable[[Message], object]


def _signalled(post: Post, name: str, handle: RunHandle | None, send: Callable[[RunHandle], None]) -> bool:
    """Send a stop or kill to the run (its process group or its Slurm job); report why not when it
    cannot be sent."""
    if handle is None:
        post(ActionFinished(f"'{name}' has no live process", error=True))
        return False
    try:
        send(handle)
    except LaunchError as exc:
        post(ActionFinished(str(exc), error=True))
        return False
    return True


def _gone(post: Post, handle: RunHandle, timeout: float) -> bool | None:
    try:
        return handle.wait_gone(timeout)
    except LaunchError as exc:
        post(ActionFinished(str(exc), error=True))
        return None


def stop_and_report(post: Post, name: str, handle: RunHandle | None, grace_s: float) -> None:
    """Worker body: stop the run (SIGINT), then wait; past the grace period offer a kill."""
    if not _signalled(post, name, handle, lambda h: h.stop()) or handle is None:
        return
    post(ActionFinished(f"stopping '{name}' ({handle.stop_note})"))
    gone = _gone(post, handle, grace_s)
    if gone:
        post(ActionFinished(f"'{name}' stopped"))
    elif gone is False:
        post(StopOverdue(name, handle))


def kill_and_report(post: Post, name: str, handle: RunHandle | None) -> None:
    """Worker body: kill the run (SIGKILL, or cancel its Slurm job) and check that nothing survived."""
    if not _signalled(post, name, handle, lambda h: h.kill()) or handle is None:
        return
    gone = _gone(post, handle, handle.kill_wait_s)
    if gone is not None:
        post(ActionFinished(f"'{name}' killed" if gone else f"'{name}' survived the kill", error=not gone))


def resume_and_report(post: Post, settings: Settings, name: str, run_dir: Path) -> None:
    """Worker body: start the run again with `--resume` in its own directory, with its own backend."""
    try:
        backends.resume(settings, run_dir)
    except (LaunchError, OSError) as exc:
        post(ActionFinished(f"cannot resume '{name}': {exc}", error=True))
        return
    post(ActionFinished(f"resumed '{name}'"))


def overdue_question(name: str, grace_s: float) -> str:
    return f"'{name}' is still running {grace_s:.0f} s after SIGINT. Kill it?"


class RunActions(Screen[None]):
    """Mixed into the run view, which sets `settings`, `run_dir`, `run_name` and `snapshot`."""

    settings: Settings
    run_dir: Path
    run_name: str
    snapshot: RunSnapshot | None

    def _run_status(self) -> str:
        return self.snapshot.status if self.snapshot else "unknown"

    def action_stop(self) -> None:
        if self._run_status() not in ACTIVE:
            self.notify(f"cannot stop '{self.run_name}': it is {self._run_status()}", severity="warning")
            return
        question = f"Stop run '{self.run_name}'? (SIGINT: it saves last.ckpt and can be resumed)"
        self.app.push_screen(ConfirmScreen(question), on_yes(self.stop_run))

    def action_resume(self) -> None:
        if self._run_status() not in RESUMABLE:
            self.notify(f"cannot resume '{self.run_name}': it is {self._run_status()}", severity="warning")
            return
        question = f"Resume run '{self.run_name}' from its last checkpoint, in the same directory?"
        self.app.push_screen(ConfirmScreen(question), on_yes(self.resume_run))

    def _handle(self) -> RunHandle | None:
        snap = self.snapshot
        return backends.handle(self.run_dir, snap and snap.pid, snap and snap.create_time)

    @work(thread=True, group="actions")
    def stop_run(self) -> None:
        stop_and_report(self.post_message, self.run_name, self._handle(), self.settings.stop_grace_s)

    @work(thread=True, group="actions")
    def kill_run(self, handle: RunHandle) -> None:
        kill_and_report(self.post_message, self.run_name, handle)

    @work(thread=True, group="actions")
    def resume_run(self) -> None:
        resume_and_report(self.post_message, self.settings, self.run_name, self.run_dir)

    @on(ActionFinished)
    def action_finished(self, message: ActionFinished) -> None:
        message.stop()
        self.notify(message.text, severity="error" if message.error else "information")
        self.after_action()

    def after_action(self) -> None:
        """Called after an action finished (the view polls again at once)."""

    @on(StopOverdue)
    def stop_overdue(self, message: StopOverdue) -> None:
        message.stop()
        question = overdue_question(message.name, self.settings.stop_grace_s)
        self.app.push_screen(ConfirmScreen(question), on_yes(lambda: self.kill_run(message.handle)))
