"""Config inheritance: `_base_` chains three levels deep, whole-mapping replace, cycles, missing bases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_entry
from torchx.config import ConfigError, config_files, load_config, merge

CONFIGS = Path(__file__).parent / "configs"
CHILD = CONFIGS / "sub" / "child.yaml"


def test_three_levels_merge_key_by_key() -> None:
    config = load_config(CHILD)
    assert config["seed"] == 7
    assert config["data_module"]["args"]["batch_size"] == 64
    args = config["train_wrapper"]["args"]
    assert args["model_spec"] == {"name": "mlp", "args": {"in_dim": 64, "out_dim": 10, "hidden": [32, 32]}}
    assert args["loss_spec"] == {"name": "cross_entropy"}
    assert config["trainer_params"] == {"max_epochs": 2, "log_every_n_steps": 2}
    assert config["checkpoint"] == {"monitor": "val/acc", "mode": "max"}
    assert "_base_" not in config


def test_replace_swaps_the_whole_mapping() -> None:
    optim = load_config(CHILD)["train_wrapper"]["args"]["optim_spec"]
    assert optim == {"name": "SGD", "args": {"lr": 0.1}}  # no weight_decay left over from root.yaml


def test_merge_rules() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert merge(base, {"a": {"y": [3]}}) == {"a": {"x": 1, "y": [3]}, "b": 1}
    assert merge(base, {"a": {"_replace_": True, "z": 2}})["a"] == {"_replace_": True, "z": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_overrides_apply_after_the_merge() -> None:
    config = load_config(CHILD, ["train_wrapper.args.optim_spec.args.lr=0.5"])
    assert config["train_wrapper"]["args"]["optim_spec"] == {"name": "SGD", "args": {"lr": 0.5}}


def test_config_files_lists_the_chain_once() -> None:
    assert [p.name for p in config_files(CHILD)] == ["child.yaml", "mid.yaml", "root.yaml", "extra.yaml"]


def test_cycle_is_one_line() -> None:
    a, b = CONFIGS / "cycle_a.yaml", CONFIGS / "cycle_b.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(a)
    assert str(info.value) == f"{b}: _base_: cycle {a} -> {b} -> {a}"


def test_missing_base_is_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(CONFIGS / "missing_base.yaml")
    message = str(info.value)
    assert message.startswith(f"{CONFIGS / 'missing_base.yaml'}: _base_: nowhere.yaml not found")
    assert "\n" not in message


@pytest.mark.parametrize("name", ["cycle_a.yaml", "missing_base.yaml"])
def test_entry_refuses_a_bad_chain_in_one_line(name: str, save_dir: Path) -> None:
    result = run_entry("train_pl", "--config", str(CONFIGS / name), "--save-dir", str(save_dir))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "_base_:" in lines[0]
    assert list(save_dir.iterdir()) == []


def test_run_writes_the_merged_config_and_snapshots_the_chain(save_dir: Path) -> None:
    overrides = ["trainer_params.max_epochs=1", "trainer_params.limit_train_batches=2",
                 "trainer_params.limit_val_batches=1"]
    result = run_entry("train_pl", "--config", str(CHILD.relative_to(REPO)), "--save-dir", str(save_dir),
                       "--name", "i", *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = save_dir / "i"
    assert yaml.safe_load((run_dir / "config.yaml").read_text()) == load_config(CHILD, overrides)
    snapshot = sorted(p.name for p in (run_dir / "src" / "configs").iterdir())
    assert snapshot == ["child.yaml", "extra.yaml", "mid.yaml", "root.yaml"]
