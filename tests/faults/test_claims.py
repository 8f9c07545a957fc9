"""Who may take a run directory: only the launch that reserved it (its token, in `run.json` and in the
child's environment) adopts it; anyone else reserves atomically or is refused. Real threads racing on
a real file system, and the real entry refusing a reservation that is not its own."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.conftest import DIGITS, run_entry
from torchx.experiment import RunDirError, claim_run_dir, reserve_run_dir

TOKEN = "a" * 32


def reserve(save_dir: Path, name: str, token: str = TOKEN) -> Path:
    """What a launcher does: reserve the name, write `run.json` with its token."""
    run_dir = reserve_run_dir(save_dir, name)
    (run_dir / "run.json").write_text(json.dumps({"pid": 1, "reservation": token}))
    return run_dir


def race(claims: int, claim: object) -> list[object]:
    """Run `claim()` in `claims` threads released at once; their results or exceptions."""
    results: list[object] = []
    gate = threading.Barrier(claims)

    def go() -> None:
        gate.wait()
        try:
            results.append(claim())  # type: ignore[operator]
        except RunDirError as exc:
            results.append(exc)

    threads = [threading.Thread(target=go) for _ in range(claims)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_the_child_with_the_token_adopts_its_reservation(tmp_path: Path) -> None:
    run_dir = reserve(tmp_path, "r")
    assert claim_run_dir(tmp_path, "r", TOKEN) == run_dir
    assert (run_dir / "src").is_dir()


@pytest.mark.parametrize("token", [None, "b" * 32])
def test_anyone_else_is_refused_a_reservation(tmp_path: Path, token: str | None) -> None:
    reserve(tmp_path, "r")
    with pytest.raises(RunDirError, match="already exists"):
        claim_run_dir(tmp_path, "r", token, wait_s=0.1)


def test_a_token_waits_for_the_launchers_run_json(tmp_path: Path) -> None:
    """The launcher writes run.json right after the spawn: the child may look first."""
    run_dir = reserve_run_dir(tmp_path, "r")
    record = json.dumps({"reservation": TOKEN})
    writer = threading.Timer(0.3, lambda: (run_dir / "run.json").write_text(record))
    writer.start()
    assert claim_run_dir(tmp_path, "r", TOKEN, wait_s=120) == run_dir
    writer.join()


@pytest.mark.parametrize("reserved", [True, False], ids=["reserved name", "fresh name"])
def test_of_many_claimants_exactly_one_wins(tmp_path: Path, reserved: bool) -> None:
    for round_ in range(20):
        name = f"r{round_}"
        if reserved:
            reserve(tmp_path, name)
        results = race(4, lambda n=name: claim_run_dir(tmp_path, n, TOKEN if reserved else None, wait_s=5))
        assert sum(isinstance(r, Path) for r in results) == 1, results


def test_an_empty_directory_is_not_adopted(tmp_path: Path) -> None:
    """Another claimant's fresh mkdir, seen before it wrote anything, is not a reservation."""
    (tmp_path / "r").mkdir()
    with pytest.raises(RunDirError, match="already exists"):
        claim_run_dir(tmp_path, "r", TOKEN, wait_s=0.1)


@pytest.mark.parametrize("entry", ["train", "train_pl"])
def test_a_command_line_run_does_not_take_a_reservation(save_dir: Path, entry: str) -> None:
    run_dir = reserve(save_dir, "taken")
    result = run_entry(entry, "--config", DIGITS, "--save-dir", str(save_dir), "--name", "taken",
                       "trainer_params.max_epochs=1")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "run 'taken' already exists" in result.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == ["run.json"]
