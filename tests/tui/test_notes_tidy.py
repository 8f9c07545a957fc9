"""Notes and tags (`e`), tidy (`D`: delete, prune, trash) and undo (`u`), keys only at 80x24."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import screen_text, wait_until
from helpers import make_app, open_on, row, select, table
from rundirs import make_run, write_events
from test_filter_sort import shown, type_filter

from torchx.experiment import write_json_atomic
from tui.history import tidy
from tui.screens.notes import NotesScreen
from tui.screens.tidy import TidyScreen

CONFIG = "checkpoint: {monitor: val/acc, mode: max, save_top_k: 1}\n"


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def with_checkpoints(run_dir: Path) -> None:
    """last.ckpt, two monitored checkpoints (the better one is best), one unmonitored, one unknown."""
    (run_dir / "config.yaml").write_text(CONFIG)
    ckpt = run_dir / "ckpt"
    ckpt.mkdir()
    for name in ("last.ckpt", "best-epoch=1.ckpt", "best-epoch=2.ckpt", "epoch=0.ckpt", "extra.ckpt"):
        (ckpt / name).write_bytes(b"w" * 1000)
    now = time.time()
    write_events(run_dir / "events.jsonl", [
        {"time": now, "event": "ckpt", "path": f"ckpt/{path}", "epoch": 0, "step": 1, "monitor": monitor,
         "value": value}
        for path, monitor, value in (("best-epoch=1.ckpt", "val/acc", 0.8),
                                     ("best-epoch=2.ckpt", "val/acc", 0.9), ("epoch=0.ckpt", None, None))])


async def open_tidy(pilot, app, name: str) -> TidyScreen:
    return await open_on(pilot, app, name, "D", TidyScreen, lambda s: s.run_size is not None,
                         "the tidy dialog")


async def test_note_and_tags_saved_and_found(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    save = app.settings.save_dir
    for i, name in enumerate(("alpha", "beta")):
        make_run(save, name, "finished", t=1_795_000_000.0 + i)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 2, 120, "two runs")
        await select(pilot, app, "alpha")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, NotesScreen), 120, "the notes dialog")
        await pilot.press(*"warmup helps", "tab", *"baseline, bad:tag", "enter")
        await wait_until(pilot, lambda: "bad:tag" in screen_text(app), 120, "the bad tag refused")
        await pilot.press("ctrl+u", *"baseline sweep", "enter")
        await wait_until(pilot, lambda: row(app, "alpha").tags == ("baseline", "sweep"), 120, "the tags")
        meta = (save / "alpha" / "meta.yaml").read_text()
        assert meta == "note: warmup helps\ntags:\n- baseline\n- sweep\n"
        await wait_until(pilot, lambda: "alpha #baseline #…" in screen_text(app), 120, "the tags shown")
        await wait_until(pilot, lambda: "alpha #baseline #sweep" in screen_text(app), 120,
                         "every tag on the line under the table")
        for text in ("tag:baseline", "warmup", "note:helps", "tag:swe*"):
            await type_filter(pilot, text)
            await wait_until(pilot, lambda: shown(app) == ["alpha"], 120, f"{text} to find alpha")


async def test_malformed_meta_is_reported_not_overwritten(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    run = make_run(app.settings.save_dir, "odd", "finished")
    (run / "meta.yaml").write_text("note: [unclosed\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "odd") is not None, 120, "the run")
        assert row(app, "odd").meta_error and "odd !meta" in screen_text(app)
        await pilot.press("e")
        await wait_until(pilot, lambda: any("malformed YAML" in n for n in notes(app)), 120, "the report")
        assert not isinstance(app.screen, NotesScreen)
        assert (run / "meta.yaml").read_text() == "note: [unclosed\n"


async def test_delete_lands_in_trash_and_undo_restores(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    save = app.settings.save_dir
    make_run(save, "keep", "finished", t=1_795_000_000.0)
    make_run(save, "doomed", "failed", t=1_795_000_100.0)
    before = sorted(p.name for p in (save / "doomed").iterdir())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 2, 120, "two runs")
        await open_tidy(pilot, app, "doomed")
        await pilot.press("x", *"doome", "enter")  # a typo deletes nothing
        await wait_until(pilot, lambda: "typed 'doome', not 'doomed'" in screen_text(app), 120, "the refusal")
        await pilot.press("ctrl+u", *"doomed", "enter")
        await wait_until(pilot, lambda: row(app, "doomed") is None, 120, "the run gone from the table")
        trashed = list((save / ".trash").glob("doomed-*"))
        assert not (save / "doomed").exists() and sorted(p.suffix for p in trashed) == ["", ".json"]
        entry = next(p for p in trashed if p.is_dir())
        assert sorted(p.name for p in entry.iterdir()) == before
        assert [r.name for r in app.screen.scanner.rows()] == ["keep"]  # the scanner skips .trash
        await pilot.press("u")
        await wait_until(pilot, lambda: row(app, "doomed") is not None, 120, "the run back")
        assert sorted(p.name for p in (save / "doomed").iterdir()) == before
        assert list((save / ".trash").iterdir()) == []
        await wait_until(pilot, lambda: table(app).selected_name == "doomed", 120, "the cursor on it")


async def test_a_running_run_cannot_be_deleted(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    make_run(app.settings.save_dir, "live", "running")  # its pid is this test's own, alive
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "live") is not None, 120, "the run")
        assert row(app, "live").status == "running"
        await open_tidy(pilot, app, "live")
        for key in ("x", "p"):
            await pilot.press(key)
            verb = "delete" if key == "x" else "prune"
            await wait_until(pilot, lambda v=verb: f"cannot {v} 'live': it is running" in screen_text(app),
                             120, "the refusal")
        await pilot.press("escape")
        assert (app.settings.save_dir / "live").is_dir()


async def test_prune_keeps_last_best_and_unknown_then_undo(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    run = make_run(app.settings.save_dir, "big", "finished")
    with_checkpoints(run)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "big") is not None, 120, "the run")
        screen = await open_tidy(pilot, app, "big")
        assert {f.name: f.keep for f in screen.run_size.files} == {
            "last.ckpt": "last", "best-epoch=2.ckpt": "best", "extra.ckpt": "unknown",
            "best-epoch=1.ckpt": "", "epoch=0.ckpt": ""}
        assert "best-epoch=1.ckpt" in screen_text(app) and "prunable" in screen_text(app)
        await pilot.press("p", *"big", "enter")
        await wait_until(pilot, lambda: any("pruned 2 checkpoint(s)" in n for n in notes(app)), 120,
                         "a prune")
        left = sorted(p.name for p in (run / "ckpt").iterdir())
        assert left == ["best-epoch=2.ckpt", "extra.ckpt", "last.ckpt"]
        await pilot.press("u")
        await wait_until(pilot, lambda: len(list((run / "ckpt").iterdir())) == 5, 120, "the checkpoints back")


def test_prunable_reads_only_the_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path, "big", "finished")
    with_checkpoints(run)
    expected = [f for f in tidy.run_size(run).files if not f.keep]
    monkeypatch.setattr(tidy, "dir_size", lambda path: pytest.fail(f"walked {path}"))
    assert [f.name for f in tidy.prunable(run)] == [f.name for f in expected] == [
        "best-epoch=1.ckpt", "epoch=0.ckpt"]


def test_process_check_refuses_whatever_the_status_said(tmp_path: Path, reap_tmp: None) -> None:
    """The worker's own check: a run whose launcher child is alive is never moved."""
    from tui.launch.backends import busy, handle
    from tui.screens.history_actions import trash_and_report

    run = make_run(tmp_path, "busy", "finished")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(tmp_path)],
                             start_new_session=True)
    write_json_atomic(run / "run.json", {"pid": child.pid, "pgid": child.pid,
                                         "create_time": psutil.Process(child.pid).create_time(),
                                         "boot_time": psutil.boot_time()})
    posted: list = []
    assert not trash_and_report(posted.append, tmp_path, "busy", "run", busy(handle(run)))
    assert posted[0].error and "cannot delete 'busy': it is running" in posted[0].text
    assert run.is_dir() and not (tmp_path / ".trash").exists()
    child.kill()
    child.wait()


def test_empty_trash_and_restore_refusals(tmp_path: Path) -> None:
    make_run(tmp_path, "a.b", "finished")  # a dot in the name
    entry = tidy.trash_run(tmp_path, "a.b", now=1_795_000_000.0)
    assert tidy.trash_entries(tmp_path) == [entry]
    make_run(tmp_path, "a.b", "finished")  # a new run took the name meanwhile
    with pytest.raises(tidy.TidyError, match="cannot restore 'a.b': .* exists"):
        tidy.restore(tmp_path, entry)
    count, size = tidy.empty_trash(tmp_path)
    assert count == 1 and size > 0 and not (tmp_path / ".trash").exists()


async def test_empty_the_trash_after_a_confirmation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.screens.confirm import ConfirmScreen

    walks: list[bool] = []

    def trash_size(save_dir: Path) -> tuple[int, int]:  # the real walk, noting whether the UI thread did it
        walks.append(threading.current_thread() is threading.main_thread())
        return measure_trash(save_dir)

    measure_trash = tidy.trash_size
    monkeypatch.setattr(tidy, "trash_size", trash_size)
    app = make_app(tmp_path)
    save = app.settings.save_dir
    make_run(save, "keep", "finished")
    make_run(save, "gone", "failed")
    tidy.trash_run(save, "gone")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "keep") is not None, 120, "the run")
        await open_tidy(pilot, app, "keep")
        assert "trash: 1 entry" in screen_text(app)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "the confirmation")
        assert "1 deleted run(s)" in screen_text(app) and "cannot be undone" in screen_text(app)
        assert walks and not any(walks)  # the dialog's worker measured the trash, not the UI thread
        await pilot.press("y")
        await wait_until(pilot, lambda: any("emptied the trash: 1 entry," in n for n in notes(app)), 120,
                         "the trash emptied")
        assert not (save / ".trash").exists() and (save / "keep").is_dir()
        await pilot.press("u")
        await wait_until(pilot, lambda: "nothing to undo: the trash is empty" in notes(app), 120,
                         "the refusal")


def test_file_system_failures_are_tidy_errors_and_lose_nothing(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path, "r", "finished")
    with_checkpoints(run)
    before = sorted(p.name for p in (run / "ckpt").iterdir())
    # a file missing by the time it moves: what moved is in the manifest, and undo puts it back
    with pytest.raises(tidy.TidyError, match=r"cannot prune 'r': No such file .*gone\.ckpt"):
        tidy.trash_checkpoints(tmp_path, "r", ["epoch=0.ckpt", "gone.ckpt"])
    [entry] = tidy.trash_entries(tmp_path)
    assert entry.files == ("epoch=0.ckpt",)
    assert tidy.restore(tmp_path, entry) == "restored 1 checkpoint(s) of 'r'"
    assert sorted(p.name for p in (run / "ckpt").iterdir()) == before and not tidy.trash_entries(tmp_path)

    def full_disk(path: Path, obj: object) -> None:  # a full disk cannot be had here
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(tidy, "write_json_atomic", full_disk)
    with pytest.raises(tidy.TidyError, match="cannot delete 'r': No space left on device"):
        tidy.trash_run(tmp_path, "r")  # the manifest comes first: without it, nothing moves
    assert sorted(p.name for p in (run / "ckpt").iterdir()) == before
    assert list((tmp_path / ".trash").iterdir()) == []


async def test_a_failed_delete_is_reported_not_a_crash(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    save = app.settings.save_dir
    make_run(save, "doomed", "failed")
    (save / ".trash").write_text("not a directory")  # so the trash cannot be made
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "doomed") is not None, 120, "the run")
        await open_tidy(pilot, app, "doomed")
        await pilot.press("x", *"doomed", "enter")
        failed = "cannot delete 'doomed': File exists"
        await wait_until(pilot, lambda: any(failed in n for n in notes(app)), 120, "the failure reported")
        assert app.is_running and (save / "doomed" / "events.jsonl").is_file()


async def test_a_delete_that_cannot_ask_slurm_is_refused(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "squeue").write_text("#!/bin/sh\necho 'cannot reach slurmctld' >&2\nexit 1\n")
    (bin_dir / "squeue").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    app = make_app(tmp_path)
    save = app.settings.save_dir
    run = make_run(save, "queued", "finished")
    write_json_atomic(run / "run.json", {"backend": "slurm", "job_id": "42"})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "queued") is not None, 120, "the run")
        app.screen.tidy_run("queued", "run")
        refused = "Slurm cannot say whether it runs (squeue: cannot reach slurmctld)"
        await wait_until(pilot, lambda: any(refused in n for n in notes(app)), 120, "the refusal")
        assert app.is_running and run.is_dir()


def test_a_last_ckpt_with_the_best_value_does_not_displace_the_best(tmp_path: Path) -> None:
    """The plain entry's `ckpt` events give last.ckpt the monitored value too: best.ckpt is still kept."""
    run = make_run(tmp_path, "plain", "finished")
    (run / "config.yaml").write_text(CONFIG)
    (run / "ckpt").mkdir()
    for name in ("last.ckpt", "best.ckpt"):
        (run / "ckpt" / name).write_bytes(b"w" * 10)
    write_events(run / "events.jsonl", [
        {"time": time.time(), "event": "ckpt", "path": f"ckpt/{name}", "epoch": 3, "step": 80,
         "monitor": "val/acc", "value": 0.91} for name in ("best.ckpt", "last.ckpt")])
    assert {f.name: f.keep for f in tidy.run_size(run).files} == {"last.ckpt": "last", "best.ckpt": "best"}
    assert not tidy.prunable(run)
