"""Config values, notes and tags read by the scanner: once per mtime, remembered between sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
from rundirs import make_run

from torchx.events import EventReader
from tui.run.files import Meta, read_meta, write_meta
from tui.table.scanner import RunsScanner


def test_config_read_once_and_cached_between_sessions(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    save, cache = tmp_path / "save", tmp_path / "cache"
    run = make_run(save, "r", "finished")
    (run / "config.yaml").write_text("train_wrapper:\n  args: {optim_spec: {args: {lr: 1.0e-3}}}\n")
    scanner = RunsScanner(save, cache_dir=cache)
    assert scanner.poll()[0][0].cfg is None  # no filter over config keys yet: nothing read
    scanner.want_config()
    first = scanner.poll()[0][0]
    assert first.cfg == {"train_wrapper.args.optim_spec.args.lr": 0.001}
    monkeypatch.setattr("tui.table.scanner.read_config_values",
                        lambda path: pytest.fail("config.yaml read again"))
    again = RunsScanner(save, cache_dir=cache)
    again.want_config()
    assert again.poll()[0][0].cfg == first.cfg


def test_config_read_in_a_later_session_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save, cache = tmp_path / "save", tmp_path / "cache"
    run = make_run(save, "r", "finished")
    (run / "config.yaml").write_text("trainer_params: {max_epochs: 3}\n")
    RunsScanner(save, cache_dir=cache).poll()  # cached without its config
    second = RunsScanner(save, cache_dir=cache)
    second.want_config()  # a cfg. filter typed before the first poll: the cached row gets it at once
    assert second.poll()[0][0].cfg == {"trainer_params.max_epochs": 3}
    monkeypatch.setattr("tui.table.scanner.read_config_values",
                        lambda path: pytest.fail("config.yaml read again"))
    third = RunsScanner(save, cache_dir=cache)
    third.want_config()
    assert third.poll()[0][0].cfg == {"trainer_params.max_epochs": 3}


def test_note_on_a_cached_run_does_not_fold_its_log_again(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    save, cache = tmp_path / "save", tmp_path / "cache"
    run = make_run(save, "r", "finished")
    first = RunsScanner(save, cache_dir=cache).poll()[0][0]
    scanner = RunsScanner(save, cache_dir=cache)
    assert scanner.poll()[0][0] == first
    reads: list[str] = []
    monkeypatch.setattr(EventReader, "iter_new", lambda self, *a, **kw: reads.append(str(self.path)) or [])
    write_meta(run, Meta("lr too high", ("baseline",)))
    scanner.refresh_soon("r")
    row = scanner.poll()[0][0]
    assert (row.note, row.tags) == ("lr too high", ("baseline",)) and reads == []
    assert (row.epoch, row.metric, row.status) == (first.epoch, first.metric, first.status)
    monkeypatch.undo()
    with open(run / "events.jsonl", "a") as f:  # the log did grow: now it is folded, run.json read
        f.write('{"v": 1, "time": 1795000099.0, "event": "start", "name": "r", "max_epochs": 10}\n')
    scanner.refresh_soon("r")
    row = scanner.poll()[0][0]
    assert row.status != "finished" and row.note == "lr too high" and row.gpus == first.gpus


def test_note_and_tags_reach_the_row_and_a_bad_meta_is_reported(tmp_path: Path) -> None:
    run = make_run(tmp_path, "r", "finished")
    scanner = RunsScanner(tmp_path)
    scanner.poll()
    write_meta(run, Meta("lr too high", ("baseline", "sweep")))
    assert not list(tmp_path.glob(".*"))  # the temporary file is gone
    scanner.refresh_soon("r")
    row = scanner.poll()[0][0]
    assert (row.note, row.tags, row.meta_error) == ("lr too high", ("baseline", "sweep"), "")
    (run / "meta.yaml").write_text("note: [unclosed\n")
    scanner.refresh_soon("r")
    row = scanner.poll()[0][0]
    assert row.meta_error.endswith("meta.yaml: malformed YAML at line 2") and row.tags == ()
    assert read_meta(run).error == row.meta_error
    (run / "meta.yaml").write_text("tags: [ok, 'not ok']\n")
    assert "tags: expected a list of words" in read_meta(run).error
