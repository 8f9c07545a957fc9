"""Stop, kill and resume from the run view: confirmations on the UI thread, signals in workers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on, work
from textual.message import Message
from textual.screen import Screen

from torchx.experiment import is_reserved_only
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


Method = TypeVar("Method", bound=Callable[..., None])


def reported(what: str) -> Callable[[Method], Method]:
    """For a worker under `@work`: an exception it meets (a run directory nobody foresaw) becomes a
    one-line error (`cannot stop 'x': ...`), never the app's exit. `what` may name the first
    argument as `{0}`."""
    def wrap(method: Method) -> Method:
        @functools.wraps(method)
        def guarded(self: Screen[Any], *args: Any, **kwargs: Any) -> None:
            try:
                method(self, *args, **kwargs)
            except Exception as exc:
                text = f"cannot {what.format(*args)}: {exc.__class__.__name__}: {exc}"
                self.post_message(ActionFinished(text[:300], error=True))
        return guarded  # type: ignore[return-value]
    return wrap


def resume_question(name: str, run_dir: Path) -> tuple[str | None, str]:
    """(why `r` cannot work, or None; the confirmation question): a resume from `last.ckpt`, or a new
    start of a run that never started, from its `run.json`. A few `stat` calls: fine on the UI thread."""
    problem = backends.resume_problem(run_dir)
    if problem:
        return f"cannot resume '{name}': {problem}", ""
    if is_reserved_only(run_dir):
        return None, f"Run '{name}' never started: launch it again from its run.json, same name and devices?"
    return None, f"Resume run '{name}' from its last checkpoint, in the same directory?"


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
        problem, question = resume_question(self.run_name, self.run_dir)
        if problem:
            self.notify(problem, severity="warning")
            return
        self.app.push_screen(ConfirmScreen(question), on_yes(self.resume_run))

    def _handle(self) -> RunHandle | None:
        snap = self.snapshot
        if snap is None:
            return backends.handle(self.run_dir)
        return backends.handle(self.run_dir, snap.pid, snap.create_time, snap.boot_time)

    @work(thread=True, group="actions")
    @reported("stop the run")
    def stop_run(self) -> None:
        stop_and_report(self.post_message, self.run_name, self._handle(), self.settings.stop_grace_s)

    @work(thread=True, group="actions")
    @reported("kill the run")
    def kill_run(self, handle: RunHandle) -> None:
        kill_and_report(self.post_message, self.run_name, handle)

    @work(thread=True, group="actions")
    @reported("resume the run")
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
