"""`torchx.load_run` rebuilds a trained model in one call; `python -m torchx.evaluate` (or its other name,
`python -m torchx.test`) evaluates a checkpoint."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

import torchx
from tests.conftest import DIGITS, REPO, run_entry
from tests.framework.test_training import events_of, kinds
from torchx import datasets

pytestmark = pytest.mark.slow  # trains real models: left out of `make test-fast`


@pytest.fixture(scope="module", params=["train_pl", "train"])
def digits_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-epoch digits run of each entry; its best epoch is a checkpoint of its own."""
    save_dir = tmp_path_factory.mktemp("save")
    relative = os.path.relpath(save_dir, REPO)  # as the default `--save-dir save` is
    result = run_entry(request.param, "--config", DIGITS, "--save-dir", relative, "--name", "d",
                       "trainer_params.max_epochs=4")
    assert result.returncode == 0, result.stderr[-3000:]
    return save_dir / "d"


def val_accuracy(model: torch.nn.Module, config: dict) -> float:
    data = datasets.make(config["data_module"])
    correct = seen = 0
    with torch.no_grad():
        for x, y in data.val_dataloader():
            correct += int((model(x).argmax(1) == y).sum())
            seen += len(y)
    return correct / seen


def test_load_run_reproduces_the_best_validation_accuracy(digits_run: Path) -> None:
    saves = [e for e in kinds(events_of(digits_run), "ckpt") if not e["path"].endswith("last.ckpt")]
    best = max(saves, key=lambda e: (e["value"], e["step"]))
    loaded = torchx.load_run(digits_run)
    assert loaded.ckpt_path == digits_run / best["path"] and not loaded.model.training
    assert loaded.config["train_wrapper"]["name"] == "base"
    assert abs(val_accuracy(loaded.model, loaded.config) - best["value"]) < 1e-6
    assert best["value"] > 0.8


def test_load_run_last_matches_the_last_epoch(digits_run: Path) -> None:
    last_epoch = kinds(events_of(digits_run), "epoch")[-1]
    loaded = torchx.load_run(digits_run, ckpt="last")
    assert abs(val_accuracy(loaded.model, loaded.config) - last_epoch["metrics"]["val/acc"]) < 1e-6


@pytest.mark.parametrize("entry", ["evaluate", "test"])
def test_evaluate_appends_a_test_event_and_a_log_line(digits_run: Path, entry: str) -> None:
    tests_before = len(kinds(events_of(digits_run), "test"))
    result = run_entry(entry, "--run", digits_run.name, "--save-dir", str(digits_run.parent), "--gpu", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    events = events_of(digits_run)
    test = events[-1]
    assert len(kinds(events, "test")) == tests_before + 1
    assert test["event"] == "test" and test["ckpt"] == str(torchx.load_run(digits_run).ckpt_path.relative_to(
        digits_run))
    assert 0.8 < test["metrics"]["test/acc"] <= 1.0 and test["metrics"]["test/loss"] > 0
    assert kinds(events, "end")[-1]["status"] == "finished"
    assert f"test {test['ckpt']}: " in (digits_run / "log.txt").read_text()
    assert f"test/acc={test['metrics']['test/acc']:.4f}" in result.stdout


@pytest.mark.parametrize("args, expected", [
    (["--run", "ghost"], "not a run directory"),
    (["--run", "d", "--ckpt", "ckpt/nope.ckpt"], "nope.ckpt not found"),
    (["--run", "d"], "no best checkpoint"),
])
def test_evaluate_bad_input_is_one_line(save_dir: Path, args: list[str], expected: str) -> None:
    (save_dir / "d").mkdir()
    shutil.copy(REPO / DIGITS, save_dir / "d" / "config.yaml")  # a run that saved no checkpoint
    result = run_entry("evaluate", *args, "--save-dir", str(save_dir))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr
