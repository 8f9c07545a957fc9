"""A first scan of many runs folded in worker processes (`tui.table.fold_workers`) gives exactly the rows
the scanner reads itself, falls back to reading them itself when workers cannot run, and ends, workers
and scan thread, when the app quits."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from rundirs import T0, make_run

from tui.app import TorchxApp
from tui.run.files import Meta, write_meta
from tui.run.status import NOT_A_RUN
from tui.settings import Settings
from tui.table import fold_workers, row_cache
from tui.table.rows import RunRow
from tui.table.scanner import RunsScanner


def save_dir_of_every_kind(save: Path) -> None:
    statuses = ("finished", "failed", "stopped", "lost", "running")
    for i in range(15):
        run = make_run(save, f"run-{i:02d}", statuses[i % 5], t=T0 + 60 * i, epochs=1 + i % 4)
        (run / "config.yaml").write_text(f"seed: {i}\ntrain_wrapper:\n  args:\n    lr: {10.0 ** -(i % 3)}\n")
    write_meta(save / "run-03", Meta("lr too high", ("baseline",)))
    make_run(save, "odd\nname [x]", "finished")  # a newline and brackets: paths travel NUL-separated
    (save / "notes").mkdir()
    (save / "garbage").mkdir()
    (save / "garbage" / "events.jsonl").write_bytes(b"\x00\xff not json\n")
    (save / "reserved").mkdir()  # a launcher's reservation: run.json only
    (save / "reserved" / "run.json").write_text(json.dumps({"argv": [], "pid": 999_999, "launched_at": T0}))


@pytest.fixture
def in_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Folds in two workers from the first directory on; returns the sizes of the groups they sent."""
    monkeypatch.setattr(fold_workers, "MIN_DIRS", 1)
    monkeypatch.setattr(fold_workers, "usable_cpus", lambda: 2)
    groups: list[int] = []
    original = fold_workers.WorkerFold.__iter__

    def counted(self: fold_workers.WorkerFold) -> Iterator[list[fold_workers.Entry]]:
        for entries in original(self):
            groups.append(len(entries))
            yield entries

    monkeypatch.setattr(fold_workers.WorkerFold, "__iter__", counted)
    return groups


def rows_by_name(scanner: RunsScanner) -> dict[str, RunRow]:
    return {r.name: r for r in scanner.poll()[0]}


def test_workers_give_the_rows_the_scanner_reads_itself(tmp_path: Path, in_workers: list[int]) -> None:
    save_dir_of_every_kind(tmp_path)
    folded = rows_by_name(RunsScanner(tmp_path))
    assert len(in_workers) == 2 and sum(in_workers) == 14  # one group a worker: the settled runs
    in_workers.clear()
    fold_workers.MIN_DIRS = 10_000  # the same scan, every run read in this process
    assert rows_by_name(RunsScanner(tmp_path)) == folded and in_workers == []
    assert folded["run-03"].tags == ("baseline",) and folded["run-04"].status == "running"
    assert folded["notes"].status == NOT_A_RUN and folded["garbage"].status == "damaged"
    assert folded["reserved"].status == "lost" and folded["odd\nname [x]"].status == "finished"


def test_a_first_config_filter_reads_configs_in_workers(tmp_path: Path, in_workers: list[int]) -> None:
    save_dir_of_every_kind(tmp_path)
    scanner = RunsScanner(tmp_path)
    first = rows_by_name(scanner)
    assert all(row.cfg is None for row in first.values())
    in_workers.clear()
    scanner.want_config()
    again = rows_by_name(scanner)
    assert sum(in_workers) == 14  # the settled runs' configs came from the workers
    assert {name for name, row in again.items() if row.cfg is None} == set()
    assert again["run-07"].cfg == {"seed": 7, "train_wrapper.args.lr": 0.1}
    assert again["run-07"].epoch == first["run-07"].epoch


def test_worker_rows_go_to_the_row_cache(tmp_path: Path, in_workers: list[int]) -> None:
    save, cache = tmp_path / "save", tmp_path / "cache"
    save_dir_of_every_kind(save)
    RunsScanner(save, cache_dir=cache).poll()
    cached = row_cache.load(row_cache.cache_file(cache, save))
    assert len(cached) == 14 and "run-04" not in cached  # the settled ones, the reservation included


@pytest.mark.parametrize("broken", ["no python", "a worker that writes nothing"])
def test_scanner_reads_runs_itself_when_workers_fail(tmp_path: Path, in_workers: list[int],
                                                     monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    save_dir_of_every_kind(tmp_path)
    expected = rows_by_name(RunsScanner(tmp_path))
    in_workers.clear()
    python = str(tmp_path / "missing") if broken == "no python" else "/bin/true"
    monkeypatch.setattr(sys, "executable", python)
    assert rows_by_name(RunsScanner(tmp_path)) == expected and in_workers == []


def test_a_scan_and_its_workers_end_when_the_app_quits(tmp_path: Path, in_workers: list[int],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`stop` (the runs screen's unmount) kills a poll's workers at once and the poll ends without
    reading the rest. The workers here are scripts that would sleep for a minute."""
    save = tmp_path / "save"
    save_dir_of_every_kind(save)
    sleeper = tmp_path / "slow-python"
    sleeper.write_text("#!/bin/sh\nexec sleep 60\n")
    sleeper.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(sleeper))
    scanner = RunsScanner(save)
    polled: list[dict[str, RunRow]] = []
    thread = threading.Thread(target=lambda: polled.append(rows_by_name(scanner)))
    thread.start()
    deadline = time.monotonic() + 10
    while len(sleeping(sleeper)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sleeping(sleeper)) == 2 and thread.is_alive()  # the poll waits on its workers
    scanner.stop()
    thread.join(10)
    assert not thread.is_alive() and sleeping(sleeper) == [] and polled == [{}]


def sleeping(script: Path) -> list[psutil.Process]:
    """The live (not zombie) worker processes started from `script`."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if str(script) in " ".join(proc.cmdline()) or proc.name() == "sleep":
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


async def test_quitting_ends_the_scan_thread_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python waits for the scan thread at exit: quitting must wake it from its sleep between polls
    (a minute here), or `q` would hang for up to a refresh period."""
    make_run(tmp_path, "done", "finished")
    polled, woke = threading.Event(), threading.Event()
    poll_batches, save_cache = RunsScanner.poll_batches, RunsScanner.save_cache
    monkeypatch.setattr(RunsScanner, "poll_batches",
                        lambda self, *a, **kw: polled.set() or poll_batches(self, *a, **kw))
    monkeypatch.setattr(RunsScanner, "save_cache", lambda self: woke.set() or save_cache(self))
    app = TorchxApp(Settings(save_dir=tmp_path, configs_dir=tmp_path, refresh_s=60.0, cache_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        while not polled.is_set():
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert not woke.is_set()  # the first poll is done: the thread sleeps for a minute
    assert woke.wait(10)  # woken by the quit, not by the end of its minute
