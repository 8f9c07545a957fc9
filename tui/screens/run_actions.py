"""Stop, kill and resume from the run view: confirmations on the UI thread, signals in workers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.screen import Screen

from tui import launcher
from tui.messages import ActionFinished, StopOverdue
from tui.runs import ACTIVE, RESUMABLE
from tui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from tui.run_watch import RunSnapshot
from tui.settings import Settings

Post = Callable[[Message], object]


def _signalled(post: Post, name: str, root: tuple[int, int] | None,
               send: Callable[[int, int], None]) -> bool:
    """Send a stop or kill to the run's root and group; report why not when it cannot be sent."""
    if root is None:
        post(ActionFinished(f"'{name}' has no live process", error=True))
        return False
    try:
        send(*root)
    except launcher.LaunchError as exc:
        post(ActionFinished(str(exc), error=True))
        return False
    return True


def stop_and_report(post: Post, name: str, root: tuple[int, int] | None, grace_s: float) -> None:
    """Worker body: SIGINT to the run's group, then wait; past the grace period offer a kill."""
    if not _signalled(post, name, root, launcher.stop) or root is None:
        return
    post(ActionFinished(f"stopping '{name}' (SIGINT sent)"))
    if launcher.wait_gone(*root, timeout=grace_s):
        post(ActionFinished(f"'{name}' stopped"))
    else:
        post(StopOverdue(name, *root))


def kill_and_report(post: Post, name: str, root: tuple[int, int] | None) -> None:
    """Worker body: SIGKILL to the run's group and check that nothing survived."""
    if not _signalled(post, name, root, launcher.kill) or root is None:
        return
    gone = launcher.wait_gone(*root, timeout=10.0)
    post(ActionFinished(f"'{name}' killed" if gone else f"'{name}' survived SIGKILL", error=not gone))


def resume_and_report(post: Post, settings: Settings, name: str, run_dir: Path) -> None:
    """Worker body: relaunch the run with `--resume` in its own directory."""
    try:
        settings.launcher.resume(run_dir)
    except (launcher.LaunchError, OSError) as exc:
        post(ActionFinished(f"cannot resume '{name}': {exc}", error=True))
        return
    post(ActionFinished(f"resumed '{name}'"))


def overdue_question(name: str, grace_s: float) -> str:
    return f"'{name}' is still running {grace_s:.0f} s after SIGINT. Kill it (SIGKILL)?"


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
        self.app.push_screen(ConfirmScreen(question), self._confirmed(self.stop_run))

    def action_resume(self) -> None:
        if self._run_status() not in RESUMABLE:
            self.notify(f"cannot resume '{self.run_name}': it is {self._run_status()}", severity="warning")
            return
        question = f"Resume run '{self.run_name}' from its last checkpoint, in the same directory?"
        self.app.push_screen(ConfirmScreen(question), self._confirmed(self.resume_run))

    @staticmethod
    def _confirmed(action: Callable[[], object]) -> Callable[[bool | None], None]:
        def answered(yes: bool | None) -> None:
            if yes:
                action()
        return answered

    def _root(self) -> tuple[int, int] | None:
        snap = self.snapshot
        return launcher.run_pid(self.run_dir, snap and snap.pid, snap and snap.create_time)

    @work(thread=True, group="actions")
    def stop_run(self) -> None:
        stop_and_report(self.post_message, self.run_name, self._root(), self.settings.stop_grace_s)

    @work(thread=True, group="actions")
    def kill_run(self, root: tuple[int, int]) -> None:
        kill_and_report(self.post_message, self.run_name, root)

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
        root = (message.pid, message.pgid)
        self.app.push_screen(ConfirmScreen(question), self._confirmed(lambda: self.kill_run(root)))
