"""Config listing and validation as the launch dialog uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from tui.launch import checks

DIGITS = REPO / "configs" / "digits-classification.yaml"


def test_split_overrides() -> None:
    assert checks.split_overrides("a.b=1  c='x y'") == (["a.b=1", "c=x y"], None)
    assert checks.split_overrides("")[0] == []
    assert "expected key.path=value" in checks.split_overrides("a.b=1 oops")[1]
    assert "expected key.path=value" in checks.split_overrides("a..b=1")[1]
    assert "No closing quotation" in checks.split_overrides("a='x")[1]


def test_structure(tmp_path: Path) -> None:
    assert checks.validate_structure(DIGITS, ["trainer_params.max_epochs=2"]).ok
    bad = checks.validate_structure(DIGITS, ["trainer_params.max_epochs=zero"])
    assert not bad.ok and "trainer_params.max_epochs" in bad.message
    broken = tmp_path / "broken.yaml"
    broken.write_text("data_module: [unclosed\n")
    assert "malformed YAML" in checks.validate_structure(broken, []).message
    assert checks.list_configs(tmp_path) == [broken]
    assert checks.list_configs(tmp_path / "missing") == []


@pytest.mark.slow
def test_full_check_names_the_bad_key(tmp_path: Path) -> None:
    assert checks.check_available()
    ok = checks.validate_full(DIGITS, ["trainer_params.max_epochs=2"])
    assert ok.ok, ok.message
    bad = checks.validate_full(DIGITS, ["train_wrapper.args.model_spec.name=nosuchmodel"])
    assert not bad.ok and "nosuchmodel" in bad.message and "\n" not in bad.message
