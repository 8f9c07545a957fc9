from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from torchx.config import ConfigError, apply_overrides, load_config, load_yaml, parse_override


def test_overrides_are_yaml_typed_and_do_not_mutate() -> None:
    config = {"trainer_params": {"max_epochs": 3}, "train_wrapper": {"args": {}}}
    out = apply_overrides(config, ["trainer_params.max_epochs=7", "train_wrapper.args.lr=1e-3",
                                   "trainer_params.devices=[0, 1]", "seed=null"], "x.yaml")
    assert out["trainer_params"] == {"max_epochs": 7, "devices": [0, 1]}
    assert out["train_wrapper"]["args"]["lr"] == 1e-3
    assert out["seed"] is None
    assert config["trainer_params"]["max_epochs"] == 3


@pytest.mark.parametrize("text", ["novalue", "=3", "a..b=1", "seed=[1, 2"])
def test_bad_override_is_one_clear_line(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_override(text)
    assert text in str(info.value) and "\n" not in str(info.value)


def test_override_through_a_non_mapping_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"x.yaml: override 'seed.a=1': 'seed' is not a mapping"):
        apply_overrides({"seed": 3}, ["seed.a=1"], "x.yaml")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("seed: 1\ndata_module: {name: digits\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: malformed YAML at line \d+, column \d+"):
        load_yaml(path)


def test_structure_errors_name_the_key_path(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data_module: {name: digits}\ntrain_wrapper: {name: base, args: 3}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: train_wrapper.args: must be a mapping"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"override 'trainer_param.max_epochs=2': unknown top-level"):
        load_config(path, ["trainer_param.max_epochs=2"])


def test_shipped_configs_load() -> None:
    for path in sorted((REPO / "configs").glob("*.yaml")):
        assert load_config(path)["train_wrapper"]["name"]
