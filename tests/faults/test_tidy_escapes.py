"""Tidy never touches a path outside the save dir, whatever links or manifests say, and a run that a
command line is resuming is busy. Real files, real links, a real entry process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tui.history import tidy
from tui.launch.backends import busy
from tui.run.processes import trainers_of


def finished_run(save: Path, name: str) -> Path:
    run = save / name
    (run / "ckpt").mkdir(parents=True)
    (run / "events.jsonl").write_text(json.dumps({"v": 1, "time": 1.0, "event": "start"}) + "\n")
    return run


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    save, outside = tmp_path / "save", tmp_path / "outside"
    save.mkdir()
    outside.mkdir()
    (outside / "precious.ckpt").write_bytes(b"keep me")
    return save, outside


def test_a_prune_through_a_linked_ckpt_dir_is_refused(dirs: tuple[Path, Path]) -> None:
    save, outside = dirs
    run = finished_run(save, "r")
    (run / "ckpt").rmdir()
    (run / "ckpt").symlink_to(outside)
    with pytest.raises(tidy.TidyError, match="leads outside"):
        tidy.trash_checkpoints(save, "r", ["precious.ckpt"])
    assert (outside / "precious.ckpt").read_bytes() == b"keep me"
    assert not (save / ".trash").exists() or not any((save / ".trash").iterdir())


def test_a_linked_trash_is_never_used_nor_emptied(dirs: tuple[Path, Path]) -> None:
    save, outside = dirs
    finished_run(save, "r")
    (save / ".trash").symlink_to(outside)
    with pytest.raises(tidy.TidyError, match="is a link"):
        tidy.trash_run(save, "r")
    with pytest.raises(tidy.TidyError, match="is a link"):
        tidy.empty_trash(save)
    assert (save / "r").is_dir() and (outside / "precious.ckpt").exists()
    assert tidy.trash_entries(save) == []


@pytest.mark.parametrize(("field", "value"), [("run", "../outside"), ("run", "../../etc"),
                                               ("files", ["../../outside/precious.ckpt"])])
def test_a_tampered_manifest_restores_nothing_outside(dirs: tuple[Path, Path], field: str,
                                                      value: object) -> None:
    save, outside = dirs
    run = finished_run(save, "r")
    (run / "ckpt" / "a.ckpt").write_bytes(b"a")
    entry = tidy.trash_checkpoints(save, "r", ["a.ckpt"]) if field == "files" else tidy.trash_run(save, "r")
    manifest = entry.path.parent / f"{entry.path.name}.json"
    data = json.loads(manifest.read_text())
    data[field] = value
    manifest.write_text(json.dumps(data))
    [tampered] = tidy.trash_entries(save)
    with pytest.raises(tidy.TidyError):
        tidy.restore(save, tampered)
    assert sorted(p.name for p in outside.iterdir()) == ["precious.ckpt"]
    assert entry.path.exists()


def test_a_command_line_resume_makes_the_run_busy(tmp_path: Path) -> None:
    """A resume typed in a shell holds the run before it writes anything the TUI reads."""
    save = tmp_path / "save"
    run = finished_run(save, "r")
    code = "import time; time.sleep(120)"
    # an entry's command line: python -c CODE -m torchx.train_pl --resume r --save-dir save
    proc = subprocess.Popen([sys.executable, "-c", code, "-m", "torchx.train_pl", "--resume", "r",
                             "--save-dir", "save"], cwd=tmp_path, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: trainers_of(run) == [proc.pid], what="the resume to be seen")
        assert busy(None, run) == f"pid {proc.pid}, started from a command line"
        assert trainers_of(finished_run(save, "other")) == []
    finally:
        proc.kill()
        proc.wait()
    assert busy(None, run) is None
