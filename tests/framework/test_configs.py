"""Every shipped config runs: a few steps each, through the Lightning entry (MNIST on generated IDX files)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, run_entry
from torchx.events import read_events

pytestmark = pytest.mark.slow  # trains real models: left out of `make test-fast`

CONFIGS = sorted(p.name for p in (REPO / "configs").glob("*.yaml"))


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def fake_mnist(root: Path, n_train: int = 256, n_test: int = 64) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_idx(root / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(root / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n_train))
    write_idx(root / "t10k-images-idx3-ubyte", rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(root / "t10k-labels-idx1-ubyte", rng.integers(0, 10, n_test))
    return root


def test_every_config_is_tested() -> None:
    assert "digits-classification.yaml" in CONFIGS and "mnist-classification.yaml" in CONFIGS


@pytest.mark.parametrize("config", CONFIGS)
def test_config_runs_a_few_steps(config: str, tmp_path: Path, save_dir: Path) -> None:
    extra = []
    if "mnist" in config:
        extra = [f"data_module.args.root={fake_mnist(tmp_path / 'mnist')}", "data_module.args.val_size=64",
                 "data_module.args.num_workers=0", "data_module.args.batch_size=16"]
    result = run_entry("train_pl", "--config", f"configs/{config}", "--save-dir", str(save_dir),
                       "--name", "c", "trainer_params.max_epochs=1", "trainer_params.limit_train_batches=3",
                       "trainer_params.limit_val_batches=2", "trainer_params.log_every_n_steps=1", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    events, bad = read_events(save_dir / "c" / "events.jsonl")
    assert not bad and events[-1]["status"] == "finished"
    assert [e["step"] for e in events if e["event"] == "step"] == [1, 2, 3]
