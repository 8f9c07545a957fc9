"""The diff logic on generated run directories: flattened keys, config rows, code and git rows."""

from __future__ import annotations

import json
from pathlib import Path

from diff_dirs import CONFIG, DIFFERING, changed_config, make_pair

from tui.history import diff
from tui.history.diff import ADDED, CHANGED, REMOVED, SAME, diff_configs, diff_runs, diff_src
from tui.run.files import flatten, load_run_config


def test_flatten_nested_mappings_and_lists() -> None:
    config = {"a": {"b": {"c": 1}, "empty": {}}, "hidden": [256, 128], "cbs": [{"name": "x", "args": {}}]}
    assert flatten(config) == {"a.b.c": 1, "a.empty": {}, "hidden[0]": 256, "hidden[1]": 128,
                               "cbs[0].name": "x", "cbs[0].args": {}}


def test_diff_configs_three_nested_keys() -> None:
    rows = diff_configs(CONFIG, changed_config())
    differ = {r.key: r for r in rows if r.kind != SAME}
    assert sorted(differ) == sorted(DIFFERING)
    lr, eta_min, clip = (differ[k] for k in DIFFERING)
    assert (lr.kind, lr.left, lr.right) == (CHANGED, "0.002", "0.001")
    assert (eta_min.kind, eta_min.left, eta_min.right) == (ADDED, None, "1.0e-05")
    assert (clip.kind, clip.left, clip.right) == (REMOVED, "1.0", None)
    assert len(rows) == len(flatten(CONFIG)) + 1  # every key of either config, once
    assert [r.key for r in rows] == sorted(r.key for r in rows)


def test_values_compare_as_written() -> None:
    a, b = {"a": 1, "b": "x", "c": [1, 2]}, {"a": "1", "b": "x", "c": [1, 3]}
    rows = {r.key: r for r in diff_configs(a, b)}
    assert (rows["a"].kind, rows["a"].left, rows["a"].right) == (CHANGED, "1", "'1'")
    assert rows["b"].kind == SAME
    assert rows["c[0]"].kind == SAME and (rows["c[1]"].left, rows["c[1]"].right) == ("2", "3")


def test_missing_and_malformed_config_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.yaml").write_text("a: [1,\n")
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "config.yaml").write_text("- 1\n")
    (tmp_path / "none").mkdir()
    config, error = load_run_config(tmp_path / "bad")
    assert config is None and "bad/config.yaml: malformed YAML at line" in str(error)
    assert "list/config.yaml: the top level must be a mapping" in str(load_run_config(tmp_path / "list")[1])
    assert "none/config.yaml: no such config file" in str(load_run_config(tmp_path / "none")[1])


def test_diff_runs_with_one_config_missing(tmp_path: Path) -> None:
    a, b = make_pair(tmp_path)
    (b / "config.yaml").unlink()
    result = diff_runs(a, b)
    assert result.config == () and "lr-run/config.yaml: no such config file" in str(result.config_error)
    assert len(result.src.files) == 2  # the other tabs still compare


def test_src_diff_of_a_changed_file(tmp_path: Path) -> None:
    a, b = make_pair(tmp_path)
    (a / "src" / "torchx" / "old.py").write_text("OLD = 1\n")
    (b / "src" / "blob.bin").write_bytes(b"\0\1")
    (a / "src" / "blob.bin").write_bytes(b"\0\2")
    src = diff_src(a, b)
    files = {f.path: f for f in src.files}
    assert sorted(files) == ["blob.bin", "torchx/models/mlp.py", "torchx/models/wide.py", "torchx/old.py"]
    mlp = files["torchx/models/mlp.py"]
    assert mlp.kind == CHANGED
    assert mlp.lines[:2] == ("--- A/torchx/models/mlp.py", "+++ B/torchx/models/mlp.py")
    assert "-    depth = 2" in mlp.lines and "+    depth = 3" in mlp.lines
    assert files["torchx/models/wide.py"].kind == ADDED and files["torchx/old.py"].kind == REMOVED
    assert files["blob.bin"].note == "binary files differ"
    assert src.same == 2 and not src.truncated and src.missing == ()  # registry.py, configs/digits.yaml
    assert "git.json" not in files and "git.diff" not in files  # compared on the git tab


def test_src_diff_is_bounded(tmp_path: Path, monkeypatch) -> None:
    a, b = make_pair(tmp_path)
    for i in range(3):
        (a / "src" / f"f{i}.py").write_text("".join(f"x = {n}\n" for n in range(50)))
        (b / "src" / f"f{i}.py").write_text("".join(f"y = {n}\n" for n in range(50)))
    monkeypatch.setattr(diff, "MAX_DIFF_LINES", 120)
    src = diff_src(a, b)
    notes = [f.note for f in src.files if f.path.startswith("f")]
    assert src.truncated and notes[:2] == ["", ""] and notes[2].startswith("diff not shown")


def test_src_missing(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "src").mkdir(parents=True)
    (tmp_path / "b" / "src" / "x.py").write_text("x\n")
    src = diff_src(tmp_path / "a", tmp_path / "b")
    assert src.missing == ("a",) and [(f.path, f.kind) for f in src.files] == [("x.py", ADDED)]


def test_git_rows(tmp_path: Path) -> None:
    a, b = make_pair(tmp_path)
    rows = {r.key: r for r in diff_runs(a, b).git}
    assert (rows["commit"].left, rows["commit"].right, rows["commit"].kind) == \
        ("1111111aaaaaaa", "2222222bbbbbbb", CHANGED)
    assert (rows["dirty"].left, rows["dirty"].right) == ("no", "yes")
    assert rows["uncommitted diff"].left == "none" and rows["uncommitted diff"].right.startswith("2 lines")
    assert rows["host"].kind == SAME


def test_git_command_of_a_run_started_from_the_command_line(tmp_path: Path) -> None:
    a, b = make_pair(tmp_path)
    (a / "run.json").unlink()  # started with `python -m torchx.train_pl ...`: only its start event says how
    events = (a / "events.jsonl").read_text().splitlines()
    start = json.loads(events[0])
    start["argv"] = ["python", "-m", "torchx.train_pl", "--config", "configs/digits.yaml", "seed=1"]
    (a / "events.jsonl").write_text("\n".join([json.dumps(start), *events[1:]]) + "\n")
    rows = {r.key: r for r in diff_runs(a, b).git}
    assert rows["command"].left == "python -m torchx.train_pl --config configs/digits.yaml seed=1"
