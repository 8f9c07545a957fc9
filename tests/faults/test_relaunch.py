"""`r` where a resume cannot work: a run killed before it wrote its `start` is launched again from its
`run.json` (a new reservation, the same name, the real entry adopting it); a run without `last.ckpt`
is refused with the reason before anything starts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import DIGITS, REPO, wait_for
from torchx.events import read_events
from tui.errors import LaunchError
from tui.launch import backends
from tui.launch.local import DEFAULT_ENTRY, Launcher
from tui.settings import Settings


def killed_before_start(save: Path, name: str, argv: list[str]) -> Path:
    """What a launch leaves when its child is killed before the entry wrote anything."""
    run = save / name
    run.mkdir(parents=True)
    (run / "stdout.log").write_text("")
    record = {"argv": argv, "pid": 999_999_999, "pgid": 999_999_999, "host": "h", "gpus": "cpu",
              "launched_at": 1.0, "create_time": 1.0, "backend": "local", "reservation": "old"}
    (run / "run.json").write_text(json.dumps({**record, "launches": [record]}))
    return run


@pytest.mark.slow
def test_a_run_killed_before_its_start_is_launched_again(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    save = tmp_path / "save"
    argv = [*DEFAULT_ENTRY, "--config", DIGITS, "--name", "early", "--save-dir", str(save), "--gpu", "cpu",
            "trainer_params.max_epochs=1"]
    run = killed_before_start(save, "early", argv)
    launcher = Launcher()
    backends.resume(Settings(save_dir=save, launcher=launcher, slurm=None), run)
    record = json.loads((run / "run.json").read_text())
    assert record["argv"][0] == sys.executable and record["reservation"] not in (None, "old")
    assert len(record["launches"]) == 2
    wait_for(lambda: any(e["event"] == "end" for e in read_events(run / "events.jsonl")[0])
             if (run / "events.jsonl").exists() else False, timeout=600, what="the relaunched run to end")
    events, _ = read_events(run / "events.jsonl")
    assert [e["event"] for e in events if e["event"] in ("start", "end")] == ["start", "end"]
    assert events[-1]["status"] == "finished"
    launcher.children[-1].wait(timeout=120)


def test_a_run_without_last_ckpt_is_refused_with_the_reason(tmp_path: Path) -> None:
    run = tmp_path / "save" / "short"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("trainer_params: {max_epochs: 1}\n")
    (run / "events.jsonl").write_text(json.dumps({"v": 1, "time": 1.0, "event": "start"}) + "\n")
    assert "no last.ckpt" in str(backends.resume_problem(run))
    with pytest.raises(LaunchError, match="no last.ckpt"):
        backends.resume(Settings(save_dir=run.parent, slurm=None), run)
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml", "events.jsonl"]


@pytest.mark.parametrize(("argv", "because"), [
    (["py", "-m", "torchx.train_pl", "--config", "nowhere.yaml", "--name", "x"], "is not a file"),
    (["py", "-m", "torchx.train_pl", "--config", DIGITS, "--name", "x", "bad key=1"], "not an override"),
])
def test_a_damaged_first_launch_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                           because: str) -> None:
    monkeypatch.chdir(REPO)
    run = killed_before_start(tmp_path / "save", "x", argv)
    with pytest.raises(LaunchError, match=because):
        backends.resume(Settings(save_dir=run.parent, slurm=None), run)
