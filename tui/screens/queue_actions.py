"""Worker bodies of the queue's keys (`ctrl+q` in the launch dialog; `K` on a queued run, `+`/`-` and
`p` on the runs table) and the runner the TUI keeps alive: each does its file work through
`tui.queue.store` (under the queue's lock where the runner could race it) and reports one
`ActionFinished`, so the screens keep only the keys and the dialogs. Loaded on first use."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from tui.errors import LaunchError
from tui.history.tidy import TidyError
from tui.launch.local import DEFAULT_ENTRY
from tui.messages import ActionFinished
from tui.queue import store
from tui.queue.runner import RUNNER_ENTRY, ensure_runner
from tui.queue.sweeps.spec import unfinished_sweeps
from tui.screens.run_actions import Post

if TYPE_CHECKING:
    from tui.launch.request import LaunchRequest
    from tui.settings import Settings


def start_runner(settings: Settings) -> int | None:
    """Start the save dir's queue runner when runs wait and none runs (`ensure_runner`: one lock try
    when one does); its pid, or None. It launches runs with this TUI's trainer entry and environment."""
    entry = settings.launcher.entry
    runner = RUNNER_ENTRY if entry == DEFAULT_ENTRY else (*RUNNER_ENTRY, "--trainer", shlex.join(entry))
    return ensure_runner(settings.save_dir, env=settings.launcher.env, entry=runner)


def sweeps_waiting(save_dir: Path) -> bool:
    """Whether a sweep is not done: its runner must live even when no run is queued (it asks the next
    trial when one ends). One directory check when there is no sweep."""
    return bool(unfinished_sweeps(save_dir))


def keep_runner(settings: Settings) -> str:
    """`start_runner` for the scan thread, which must not die of it: why it could not (a read-only save
    dir), else empty."""
    try:
        start_runner(settings)
    except OSError as exc:
        return f"cannot start the queue's runner: {exc}"
    return ""


def queue_run(settings: Settings, request: LaunchRequest) -> int:
    """Queue `request` last (to run from this working directory) and make sure a runner lives; its place
    in the queue, 0 when a runner has taken it already. LaunchError when the name is taken."""
    run = store.queue(request, workdir=Path.cwd())
    names = [r.name for r in store.queued_runs(request.save_dir)]
    start_runner(settings)
    return names.index(run.name) + 1 if run.name in names else 0


def edit_and_report(post: Post, settings: Settings, edit: str, name: str = "", delta: int = 0) -> None:
    """The runs table's queue keys: `remove` a run, `move` it `delta` places, or `pause` (or resume)."""
    if edit == "remove":
        unqueue_and_report(post, settings.save_dir, name)
    elif edit == "move":
        move_and_report(post, settings.save_dir, name, delta)
    else:
        pause_or_resume_and_report(post, settings)


def unqueue_and_report(post: Post, save_dir: Path, name: str) -> bool:
    """Take a queued run out of the queue into the trash; refused once its runner has launched it."""
    try:
        entry = store.remove(save_dir, name)
    except (LaunchError, TidyError) as exc:
        post(ActionFinished(str(exc), error=True))
        return False
    post(ActionFinished(f"removed '{name}' from the queue (moved to {entry.path}; u undoes)"))
    return True


def move_and_report(post: Post, save_dir: Path, name: str, delta: int) -> None:
    try:
        place = store.move(save_dir, name, delta)
    except LaunchError as exc:
        post(ActionFinished(str(exc), error=True))
        return
    post(ActionFinished(f"'{name}' is #{place} in the queue"))


def pause_or_resume_and_report(post: Post, settings: Settings) -> None:
    """Pause a running queue, resume a paused one (and make sure a runner lives to launch again)."""
    if store.paused(settings.save_dir):
        store.resume(settings.save_dir)
        start_runner(settings)
        post(ActionFinished("queue resumed: queued runs start as their devices free"))
    else:
        store.pause(settings.save_dir)
        post(ActionFinished("queue paused: no queued run starts until p (started runs go on)"))


def queue_paused(save_dir: Path) -> bool:
    return store.paused(save_dir)
