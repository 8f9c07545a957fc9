"""Training keeps its promises under faults: a stop and a resume train exactly the uninterrupted steps;
checkpoints are whole whatever fails while they are written; a full disk still ends the run's story; a
torn event line costs only itself; kills leave no stale checkpoints; no rank outlives rank 0.

Real entries in subprocesses, real signals, real filesystems: the tests that need a small filesystem
mount a tmpfs (root only: they skip, saying why, where that is impossible).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import torch

from tests.conftest import DIGITS, REPO, entry_cmd, start_entry, wait_for
from tests.conftest import test_env as entry_env
from torchx.callbacks.checkpoint import AtomicCheckpointIO
from torchx.checkpoints import save_atomic
from torchx.events import EventWriter, read_events
from torchx.recorder import RunRecorder

ENTRIES = ["train_pl", "train"]
SMALL_BATCHES = ("data_module.args.batch_size=8", "trainer_params.log_every_n_steps=1")  # 158 steps/epoch
LONG = 600  # seconds: a generous limit for a run on a busy machine


def run(entry: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(entry_cmd(entry, *args), cwd=REPO, capture_output=True, text=True, timeout=LONG,
                          stdin=subprocess.DEVNULL, env={**entry_env(), **(env or {})})


def events(run_dir: Path) -> list[dict[str, Any]]:
    return read_events(run_dir / "events.jsonl")[0] if (run_dir / "events.jsonl").exists() else []


def of(kind: str, evs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in evs if e["event"] == kind]


def last_step(run_dir: Path) -> int:
    return max((e["step"] for e in of("step", events(run_dir))), default=0)


def weights(ckpt: Path) -> tuple[dict[str, torch.Tensor], int]:
    """The model's weights in a checkpoint of either entry, and its global step."""
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    if "format" in state:  # the plain entry's
        return state["model"], state["global_step"]
    return {k.removeprefix("model."): v for k, v in state["state_dict"].items()}, state["global_step"]


def interrupt(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> int:
    os.killpg(proc.pid, sig)
    return proc.wait(timeout=LONG)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts a tmpfs of a given size (`mount -o size=`) under tmp_path; skips where that is impossible."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        path = tmp_path / f"tmpfs{len(mounted)}"
        path.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                                capture_output=True, text=True)
        if result.returncode:
            pytest.skip(f"cannot mount a tmpfs: {result.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path, leave: int) -> None:
    """Fill the filesystem of `directory` to its last byte, then free `leave` bytes of it."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (1 << 16, 1 << 12, 1 << 9):
            while True:
                try:
                    os.write(fd, bytes(chunk))
                except OSError:
                    break
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)


# 1. A stop and a resume train what an uninterrupted run trains.

def stop_resume_and_compare(save_dir: Path, entry: str, steps_per_epoch: int, *extra: str) -> None:
    """An uninterrupted run and one stopped by SIGINT at a random step, then resumed, end with the same
    global step and the same weights; the events tell the cut epoch only once, after the resume. The stop
    lands in the first two of three epochs: a whole epoch of margin before the run would end by itself."""
    args = ("--config", DIGITS, "--save-dir", str(save_dir), "trainer_params.max_epochs=3", *SMALL_BATCHES,
            *extra)
    whole = subprocess.Popen(entry_cmd(entry, *args, "--name", "whole"), cwd=REPO, env=entry_env(),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cut = start_entry(entry, *args, "--name", "cut", log=save_dir / "cut.out")
    at = random.randint(10, 2 * steps_per_epoch)
    wait_for(lambda: last_step(save_dir / "cut") >= at, timeout=LONG, what=f"step {at}")
    assert interrupt(cut) == 0
    stopped = events(save_dir / "cut")
    assert stopped[-1]["status"] == "stopped"
    stop_ckpt = of("ckpt", stopped)[-1]
    assert stop_ckpt["path"] == "ckpt/last.ckpt" and stop_ckpt["step"] == last_step(save_dir / "cut")
    assert of("start", stopped)[0]["steps_per_epoch"] == steps_per_epoch
    cut_epoch = stop_ckpt["step"] // steps_per_epoch
    resumed = run(entry, "--resume", "cut", "--save-dir", str(save_dir))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert whole.wait(timeout=LONG) == 0

    evs = events(save_dir / "cut")
    assert of("start", evs)[1]["global_step"] == stop_ckpt["step"]
    assert [e["epoch"] for e in of("epoch", evs)] == [0, 1, 2]  # the cut epoch ends once, after the resume
    assert of("epoch", evs)[cut_epoch]["time"] > of("start", evs)[1]["time"]
    expected, expected_step = weights(save_dir / "whole" / "ckpt" / "last.ckpt")
    got, got_step = weights(save_dir / "cut" / "ckpt" / "last.ckpt")
    assert got_step == expected_step == 3 * steps_per_epoch == of("epoch", evs)[-1]["step"]
    for key, value in expected.items():
        assert torch.allclose(got[key], value, rtol=1e-5, atol=1e-6), key


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES)
def test_a_stopped_and_resumed_run_trains_the_uninterrupted_steps(save_dir: Path, entry: str) -> None:
    stop_resume_and_compare(save_dir, entry, 158)


@pytest.mark.slow
def test_a_stopped_and_resumed_ddp_run_trains_the_uninterrupted_steps(save_dir: Path) -> None:
    stop_resume_and_compare(save_dir, "train_pl", 79, "trainer_params.accelerator=cpu",
                            "trainer_params.devices=2", "trainer_params.strategy=ddp")


# 2. Checkpoints are whole: written beside their target, never through $TMPDIR.

class Interrupted(OSError):
    pass


def write_half_then_fail(directory: Path, seen: list[list[str]]) -> Callable[[Any, Any], None]:
    """Stands in for torch.save: the disk fills half-way through the file. It notes what `directory`
    holds meanwhile: a save writes its temporary file there, not in $TMPDIR nor in memory."""
    def save(obj: Any, f: Any) -> None:
        seen.append(sorted(p.name for p in directory.iterdir()))
        f.write(b"PK\x03\x04 half a checkpoint")
        raise Interrupted(errno.ENOSPC, "No space left on device")
    return save


SAVERS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "train": save_atomic,
    "train_pl": lambda state, path: AtomicCheckpointIO().save_checkpoint(state, path),
}


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_save_that_fails_half_way_leaves_the_previous_checkpoint(tmp_path: Path, entry: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    last = tmp_path / "last.ckpt"
    SAVERS[entry]({"global_step": 7, "w": torch.ones(3)}, last)
    seen: list[list[str]] = []
    monkeypatch.setattr(torch, "save", write_half_then_fail(tmp_path, seen))
    with pytest.raises(Interrupted):
        SAVERS[entry]({"global_step": 8, "w": torch.zeros(3)}, last)
    monkeypatch.undo()
    assert len(seen) == 1 and len(seen[0]) == 2 and seen[0][0].startswith(".last.ckpt.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no temporary file
    state = torch.load(last, weights_only=False)
    assert state["global_step"] == 7 and torch.equal(state["w"], torch.ones(3))


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES)
def test_checkpoints_never_pass_through_tmpdir(save_dir: Path, entry: str,
                                               tmpfs: Callable[[str], Path]) -> None:
    tmpdir = tmpfs("64k")  # far smaller than a checkpoint (~600 KB): a copy through it cannot fit
    result = run(entry, "--config", DIGITS, "--save-dir", str(save_dir), "--name", "t",
                 "trainer_params.max_epochs=1", env={"TMPDIR": str(tmpdir)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(tmpdir.iterdir()) == []
    ckpts = sorted((save_dir / "t" / "ckpt").iterdir())
    assert len(ckpts) == 2 and all(p.suffix == ".ckpt" for p in ckpts)
    assert all(weights(p)[1] == 20 for p in ckpts)


# 3. A full disk: whole checkpoints, an `end` event, one line on stderr.

@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES)
def test_a_disk_that_fills_mid_run_fails_the_run_with_whole_files(entry: str,
                                                                  tmpfs: Callable[[str], Path]) -> None:
    save = tmpfs("16m")
    proc = start_entry(entry, "--config", DIGITS, "--save-dir", str(save), "--name", "full",
                       "trainer_params.max_epochs=500", log=save.parent / "full.out")
    run_dir = save / "full"
    wait_for(lambda: len(of("ckpt", events(run_dir))) >= 2, timeout=LONG, what="the first checkpoints")
    fill(save, leave=64 << 10)  # room for a few events, not for another checkpoint
    assert proc.wait(timeout=LONG) != 0
    evs = events(run_dir)
    assert evs[-1]["event"] == "end" and evs[-1]["status"] == "failed"
    assert "No space left on device" in evs[-1]["error"]["message"]
    assert not [p.name for p in (run_dir / "ckpt").iterdir() if p.suffix != ".ckpt"]  # no temporary file
    for ckpt in (run_dir / "ckpt").iterdir():
        weights(ckpt)  # every checkpoint loads
    assert "end: failed" in (run_dir / "log.txt").read_text().splitlines()[-1]


def test_the_end_event_is_written_when_the_log_cannot_be(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "log.txt").symlink_to("/dev/full")  # every write: ENOSPC
    recorder = RunRecorder(tmp_path)
    recorder.started = True
    recorder.log("a line for people")
    recorder.end("failed", error=OSError(errno.ENOSPC, "No space left on device"))
    evs = events(tmp_path)
    assert [e["event"] for e in evs] == ["end"] and evs[0]["status"] == "failed"
    assert capsys.readouterr().err.splitlines() == [
        f"torchx: cannot write {tmp_path / 'log.txt'}: No space left on device"]


def test_an_end_event_that_cannot_be_written_is_said_on_stderr(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "events.jsonl").symlink_to("/dev/full")
    recorder = RunRecorder(tmp_path)
    recorder.started = True
    recorder.end("failed", error=RuntimeError("boom"))
    assert capsys.readouterr().err.splitlines() == [
        f"torchx: cannot write {tmp_path / 'events.jsonl'}: No space left on device"]
    assert (tmp_path / "log.txt").read_text().splitlines()[-1].endswith("end: failed after 0:00:00")


def test_an_event_that_does_not_fit_is_taken_back_whole(tmpfs: Callable[[str], Path]) -> None:
    disk = tmpfs("64k")
    writer = EventWriter(disk / "events.jsonl")
    writer.write("start", name="full")  # the file's last page has room for a few more lines, not more
    fill(disk, leave=0)
    with pytest.raises(OSError) as raised:
        for i in range(10_000):
            writer.write("step", epoch=0, step=i, metrics={"train/loss": 1.0}, text="x" * 900)
    assert raised.value.errno == errno.ENOSPC
    data = (disk / "events.jsonl").read_bytes()
    lines = data.splitlines()
    assert len(lines) > 1 and data.endswith(b"\n") and all(json.loads(line) for line in lines)


# 4. A torn last line costs only itself.

def test_a_writer_ends_a_torn_last_line_before_its_first_event(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"v": 1, "time": 1.0, "event": "start"}\n{"v": 1, "time": 2.0, "event": "st')
    EventWriter(path).write("start", name="resumed")
    evs, bad = read_events(path)
    assert [e.get("name") for e in evs] == [None, "resumed"] and [b.line_no for b in bad] == [2]


@pytest.mark.slow
def test_a_run_killed_mid_line_resumes_with_its_start_read(save_dir: Path) -> None:
    proc = start_entry("train", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "torn",
                       "trainer_params.max_epochs=500", log=save_dir / "torn.out")
    run_dir = save_dir / "torn"
    wait_for(lambda: (run_dir / "ckpt" / "last.ckpt").exists(), timeout=LONG, what="a checkpoint")
    interrupt(proc, signal.SIGKILL)
    with open(run_dir / "events.jsonl", "ab") as f:  # what a kill in the middle of a write leaves
        f.write(b'{"v": 1, "time": 1.0, "event": "step", "epo')
    result = run("train", "--resume", "torn", "--save-dir", str(save_dir), "trainer_params.max_epochs=2")
    assert result.returncode == 0, result.stderr[-3000:]
    evs, bad = read_events(run_dir / "events.jsonl")
    assert len(of("start", evs)) == 2 and len(bad) == 1
    assert evs[-1]["event"] == "end" and evs[-1]["status"] == "finished"


# 5. save_top_k holds across kills.

@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES)
def test_a_killed_and_resumed_run_keeps_save_top_k(save_dir: Path, entry: str) -> None:
    proc = start_entry(entry, "--config", DIGITS, "--save-dir", str(save_dir), "--name", "k",
                       "trainer_params.max_epochs=500", "checkpoint.monitor=val/loss", "checkpoint.mode=min",
                       log=save_dir / "k.out")
    run_dir, ckpt_dir = save_dir / "k", save_dir / "k" / "ckpt"
    wait_for(lambda: len([e for e in of("ckpt", events(run_dir)) if e["monitor"]]) >= 2, timeout=LONG,
             what="two best checkpoints")
    interrupt(proc, signal.SIGKILL)
    # What a kill inside a save leaves (its temporary file) and, where best files have their own names,
    # a kill between a best save and last.ckpt's (a best file the state in last.ckpt does not know of).
    (ckpt_dir / ".best.ckpt.k1ll3d.tmp").write_bytes(b"half")
    if entry == "train_pl":
        best = next(p for p in ckpt_dir.glob("best-*.ckpt"))
        shutil.copy(best, ckpt_dir / "best-epoch=400-step=8000.ckpt")
    epochs = max(e["epoch"] for e in of("epoch", events(run_dir)))
    result = run(entry, "--resume", "k", "--save-dir", str(save_dir),
                 f"trainer_params.max_epochs={epochs + 3}")
    assert result.returncode == 0, result.stderr[-3000:]
    files = sorted(p.name for p in ckpt_dir.iterdir())
    assert len(files) == 2 and "last.ckpt" in files, files  # save_top_k: 1 best, and last.ckpt


# 6. No rank outlives rank 0.

@pytest.mark.slow
def test_a_rank_leaves_when_rank_0_is_killed_during_start_up(save_dir: Path) -> None:
    proc = start_entry("train_pl", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "ddp",
                       "trainer_params.accelerator=cpu", "trainer_params.devices=2",
                       "trainer_params.strategy=ddp", log=save_dir / "ddp.out")
    try:
        rank1 = wait_for(lambda: ranks_started_by(proc.pid), timeout=LONG, what="rank 1")[0]
        os.kill(proc.pid, signal.SIGKILL)  # rank 0 alone
        proc.wait(timeout=LONG)
        wait_for(lambda: not rank1.is_running() or rank1.status() == psutil.STATUS_ZOMBIE, timeout=120,
                 what="rank 1 to leave")
        assert "is gone; exiting" in (save_dir / "ddp.out").read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def ranks_started_by(pid: int) -> list[psutil.Process]:
    """The entry processes among `pid`'s children (others, like `git` at start-up, are not ranks)."""
    with contextlib.suppress(psutil.Error):
        return [p for p in psutil.Process(pid).children() if "torchx.train_pl" in p.cmdline()]
    return []
