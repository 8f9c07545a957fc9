"""Config listing and validation as the launch dialog uses them: the structure in-process, the full check
by one warm checker process (or a fresh one per check for a stand-in that cannot serve)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from conftest import REPO
from helpers_procs import wait_for

from tui.launch import checks

DIGITS = REPO / "configs" / "digits-classification.yaml"
TYPO = "trainer_params.max_epoch=3"
BAD_TYPE = "train_wrapper.args.optim_spec.args.lr=abc"


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
    assert ok is not None and ok.ok, ok
    bad = checks.validate_full(DIGITS, ["train_wrapper.args.model_spec.name=nosuchmodel"])
    assert bad is not None and not bad.ok and "nosuchmodel" in bad.message and "\n" not in bad.message


@pytest.mark.slow
def test_one_warm_checker_answers_every_check_until_closed() -> None:
    checker = checks.Checker()
    try:
        first = checker.check(DIGITS, [])
        assert first == checks.Verdict(True, "config ok")
        server = checker._server
        assert server is not None
        typo = checker.check(DIGITS, [TYPO])
        bad_type = checker.check(DIGITS, [BAD_TYPE])
        assert checker._server is server  # the same process answered all three
    finally:
        checker.close()
    assert typo is not None and typo.message.startswith(
        "digits-classification.yaml: trainer_params.max_epoch: 3: pytorch_lightning.Trainer: unexpected "
        "argument 'max_epoch' (did you mean 'max_epochs'?)")
    assert bad_type == checks.Verdict(False, "digits-classification.yaml: train_wrapper.args.optim_spec.args."
                                             "lr: 'abc': expected a number, for torch.optim.AdamW")
    assert server.proc.poll() is not None  # closed: killed and reaped


def test_a_stand_in_that_cannot_serve_is_run_once_per_check() -> None:
    """A check command that exits at once (tests' stand-ins, a torchx without `--serve`) still decides."""
    refuse = (sys.executable, "-c", "import sys; print('error: x.yaml: seed: -1: bad', file=sys.stderr); "
                                    "sys.exit(2)")
    checker = checks.Checker(refuse)
    assert checker.check(DIGITS, []) == checks.Verdict(False, "x.yaml: seed: -1: bad")
    assert checker.check(DIGITS, ["seed=3"]) == checks.Verdict(False, "x.yaml: seed: -1: bad")
    accept = checks.Checker((sys.executable, "-c", "import sys; sys.exit(0)"))
    assert accept.check(DIGITS, []) == checks.Verdict(True, "config ok")


def test_closing_the_checker_ends_a_check_that_hangs() -> None:
    checker = checks.Checker((sys.executable, "-c", "import time; time.sleep(600)"))
    verdicts: list[checks.Verdict | None] = []
    asking = threading.Thread(target=lambda: verdicts.append(checker.check(DIGITS, [])))
    asking.start()
    server = wait_for(lambda: checker._server, 120, "the checker process")
    checker.close()
    asking.join(120)
    assert not asking.is_alive() and verdicts == [None]
    assert server is not None and server.proc.poll() is not None
