"""Worker bodies of the runs screen's history keys (note, delete, prune, empty trash, undo): each does its
file work and reports one `ActionFinished`, so the screen keeps only the keys and the dialogs."""

from __future__ import annotations

from pathlib import Path

from tui.history import tidy
from tui.messages import ActionFinished
from tui.run.files import Meta, write_meta
from tui.screens.run_actions import Post
from tui.text import size_text


def save_meta_and_report(post: Post, run_dir: Path, meta: Meta) -> bool:
    try:
        write_meta(run_dir, meta)
    except OSError as exc:
        post(ActionFinished(f"cannot save the note of '{run_dir.name}': {exc}", error=True))
        return False
    post(ActionFinished(f"saved the note and tags of '{run_dir.name}'"))
    return True


def trash_and_report(post: Post, save_dir: Path, name: str, kind: str, busy: str | None) -> bool:
    """Delete the run or prune its checkpoints into the trash; refused while `busy` (a live process or
    an active Slurm job, `backends.busy`)."""
    if busy is not None:
        post(ActionFinished(f"cannot delete '{name}': it is running ({busy})", error=True))
        return False
    try:
        if kind == "run":
            entry = tidy.trash_run(save_dir, name)
            text = f"deleted '{name}' (moved to {entry.path}; u undoes)"
        else:
            files = [f.name for f in tidy.prunable(save_dir / name)]
            entry = tidy.trash_checkpoints(save_dir, name, files)
            text = f"pruned {len(entry.files)} checkpoint(s) of '{name}' (u undoes)"
    except tidy.TidyError as exc:
        post(ActionFinished(str(exc), error=True))
        return False
    post(ActionFinished(text))
    return True


def empty_trash_and_report(post: Post, save_dir: Path) -> None:
    try:
        count, size = tidy.empty_trash(save_dir)
    except tidy.TidyError as exc:
        post(ActionFinished(str(exc), error=True))
        return
    entries = f"{count} entr{'y' if count == 1 else 'ies'}"
    post(ActionFinished(f"emptied the trash: {entries}, {size_text(size)} freed"))


def newest_entry(post: Post, save_dir: Path) -> tidy.TrashEntry | None:
    """What `u` restores: the newest trash entry (reported when there is none)."""
    entries = tidy.trash_entries(save_dir)
    if not entries:
        post(ActionFinished("nothing to undo: the trash is empty", error=True))
        return None
    return entries[0]


def restore_and_report(post: Post, save_dir: Path, entry: tidy.TrashEntry) -> bool:
    try:
        text = tidy.restore(save_dir, entry)
    except tidy.TidyError as exc:
        post(ActionFinished(str(exc), error=True))
        return False
    post(ActionFinished(text))
    return True
