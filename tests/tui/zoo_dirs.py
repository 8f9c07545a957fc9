"""A zoo of damaged run directories (tests/faults): every way a directory in a shared save dir can be
broken that the TUI has met or could meet, each beside healthy runs, with the status and the reason
the TUI must show for it.

Each exhibit is built on a finished run from `rundirs.make_run` (or on nothing), then broken in one
way. FIFOs are left without a writer on purpose: a reader that opens one the blocking way would wait
forever, so `release_fifos` opens each for writing at teardown to free such a reader (a regression
then fails its test instead of hanging the session).
"""

from __future__ import annotations

import errno
import json
import os
import random
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rundirs import T0, epoch_events, make_run, start_event, write_events

from torchx.events import MAX_LINE_BYTES

FINISHED = "finished"
DAMAGED = "damaged"
ALIAS_BOMB = "".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n']
    + [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
)
"""A 'billion laughs' document of ~500 bytes: 9⁹ strings once every alias is expanded."""


@dataclass(frozen=True)
class Exhibit:
    name: str
    build: Callable[[Path, str], None]
    """Makes `save_dir / name`."""
    status: str
    reason: str = ""
    """A part of the reason the row and the run view must show; empty when nothing is wrong."""
    unprivileged: bool = False
    """Only a user other than root meets this damage (root reads a chmod 000 directory)."""


def finished(save: Path, name: str) -> Path:
    return make_run(save, name, FINISHED)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")  # a read never ends


def loop(path: Path) -> None:
    path.symlink_to(path.name)  # resolves to itself


def text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content)


def events_with(save: Path, name: str, replace: dict[int, dict[str, object]]) -> None:
    """A finished run whose event number `i` gets the fields `replace[i]` (wrongly typed ones)."""
    run = finished(save, name)
    events = [start_event(name, T0), *epoch_events(0, 3, T0),
              {"time": T0 + 31.0, "event": "end", "status": FINISHED, "elapsed_s": 31.0, "error": None}]
    for i, fields in replace.items():
        events[i] = {**events[i], **fields}
    (run / "events.jsonl").unlink()
    write_events(run / "events.jsonl", events)


def garbage(path: Path) -> None:
    data = random.Random(7).randbytes(8192)
    path.write_bytes(data.replace(b"\n", b" ") + b"\n" + data + b"\n")


def files_where_dirs_belong(save: Path, name: str) -> None:
    run = finished(save, name)
    (run / "ckpt").write_text("a file, not the checkpoint directory")
    (run / "src").write_text("a file, not the code snapshot")


def fifos_in_src_and_logs(save: Path, name: str) -> None:
    run = finished(save, name)
    (run / "src").mkdir()
    for path in (run / "src" / "git.json", run / "src" / "git.diff", run / "log.txt", run / "stdout.log"):
        os.mkfifo(path)


def unreadable(save: Path, name: str) -> None:
    os.chmod(finished(save, name), 0)


def plain_dir(save: Path, name: str) -> None:
    (save / name).mkdir()


def damaged_dir(damage: Callable[[Path], None]) -> Callable[[Path, str], None]:
    """A directory holding nothing but a damaged `events.jsonl`."""
    def build(save: Path, name: str) -> None:
        (save / name).mkdir()
        damage(save / name / "events.jsonl")
    return build


def on(file: str, damage: Callable[[Path], None]) -> Callable[[Path, str], None]:
    """A finished run whose `file` is replaced by what `damage` makes."""
    def build(save: Path, name: str) -> None:
        run = finished(save, name)
        (run / file).unlink(missing_ok=True)
        damage(run / file)
    return build


def failed(save: Path, name: str) -> None:
    make_run(save, name, "failed")


NOT_JSON_ARRAY = "[1, 2, 3]"
WRONG_RUN_JSON = json.dumps({"argv": [], "pid": "1234", "host": "box", "launched_at": T0, "backend": "local"})
HUGE_LINE = b"x" * (MAX_LINE_BYTES + 4096)  # no newline: a reader holding it whole would never stop growing

EXHIBITS: tuple[Exhibit, ...] = (
    Exhibit("healthy-finished", finished, FINISHED),
    Exhibit("healthy-failed", failed, "failed"),
    Exhibit("unreadable-dir", unreadable, DAMAGED, "cannot read the directory: Permission denied",
            unprivileged=True),
    Exhibit("events-a-directory", damaged_dir(os.mkdir), DAMAGED,
            "events.jsonl: not a regular file (a directory)"),
    Exhibit("events-a-fifo", damaged_dir(fifo), DAMAGED, "events.jsonl: not a regular file (a FIFO)"),
    Exhibit("events-dev-zero", on("events.jsonl", dev_zero), DAMAGED,
            "events.jsonl: not a regular file (a device)"),
    Exhibit("events-a-link-loop", on("events.jsonl", loop), DAMAGED,
            "events.jsonl: Too many levels of symbolic links"),
    Exhibit("events-binary-garbage", damaged_dir(garbage), DAMAGED, "events.jsonl line 1: not JSON"),
    Exhibit("events-one-huge-line", damaged_dir(lambda path: path.write_bytes(HUGE_LINE)), DAMAGED,
            f"events.jsonl line 1: longer than {MAX_LINE_BYTES:,} bytes"),
    Exhibit("start-max-epochs-five", lambda save, name: events_with(save, name, {0: {"max_epochs": "five"}}),
            DAMAGED, "events.jsonl line 1: start.max_epochs: expected an integer, got text"),
    Exhibit("end-status-five", lambda save, name: events_with(save, name, {7: {"status": 5}}), "lost",
            "events.jsonl line 8: end.status: expected text, got an integer"),
    Exhibit("epoch-fields-mistyped",
            lambda save, name: events_with(save, name, {3: {"epoch": "one", "metrics": [0.5]}}), FINISHED,
            "events.jsonl line 4: epoch.epoch: expected an integer, got text"),
    Exhibit("run-json-a-fifo", on("run.json", fifo), DAMAGED, "run.json: not a regular file (a FIFO)"),
    Exhibit("run-json-dev-zero", on("run.json", dev_zero), DAMAGED,
            "run.json: not a regular file (a device)"),
    Exhibit("run-json-not-an-object", on("run.json", text(NOT_JSON_ARRAY)), DAMAGED,
            "run.json: expected an object, got list"),
    Exhibit("run-json-mistyped", on("run.json", text(WRONG_RUN_JSON)), DAMAGED,
            "run.json: pid: expected an integer, got text"),
    Exhibit("meta-a-fifo", on("meta.yaml", fifo), FINISHED, "meta.yaml: not a regular file (a FIFO)"),
    Exhibit("meta-alias-bomb", on("meta.yaml", text(ALIAS_BOMB + "note: hi\ntags: *i\n")), FINISHED,
            "meta.yaml: "),
    Exhibit("meta-not-a-mapping", on("meta.yaml", text("- note\n- tags\n")), FINISHED,
            "expected a mapping with note and tags, got list"),
    Exhibit("config-alias-bomb", on("config.yaml", text(ALIAS_BOMB + "trainer_params: *i\n")), FINISHED),
    Exhibit("config-a-fifo", on("config.yaml", fifo), FINISHED),
    Exhibit("dir-a-link-loop", lambda save, name: loop(save / name), DAMAGED,
            "cannot read the directory: Too many levels of symbolic links"),
    Exhibit("files-where-dirs-belong", files_where_dirs_belong, FINISHED),
    Exhibit("fifos-in-src-and-logs", fifos_in_src_and_logs, FINISHED),
    Exhibit("name\nwith a newline", finished, FINISHED),
    Exhibit("[bold]markup[-] and [unclosed", finished, FINISHED),
    Exhibit("foreign-empty-dir", plain_dir, "not a run"),
)


def build_zoo(save: Path, exhibits: tuple[Exhibit, ...] = EXHIBITS) -> None:
    save.mkdir(parents=True, exist_ok=True)
    for exhibit in exhibits:
        exhibit.build(save, exhibit.name)


def release_fifos(save: Path) -> None:
    """Open every FIFO under `save` for writing, without blocking: a reader stuck opening one (a
    regression) gets its open back and can end. Directories made unreadable are made readable first."""
    for entry in save.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            entry.chmod(0o755)
    for root, dirs, files in os.walk(save):
        for name in (*files, *dirs):
            path = os.path.join(root, name)
            if not stat.S_ISFIFO(os.lstat(path).st_mode):
                continue
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as exc:  # ENXIO: nobody reads it, as it should be
                if exc.errno != errno.ENXIO:
                    raise
