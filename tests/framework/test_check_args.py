"""The full check in-process: argument types judged by annotations, `**kwargs` followed to the base
class, the checkpoint keys kept equal to Lightning's, and `--serve` answering one JSON line a request."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.conftest import DIGITS, REPO
from tests.conftest import test_env as entry_env
from torchx.config import CHECKPOINT_KEYS
from torchx.registry import Registry, RegistryError, keyword_parameters, type_problem


@pytest.mark.parametrize(("value", "hint", "problem"), [
    ("abc", list[int] | None, "expected a list of integers or null"),
    ([1, 2], list[int] | None, None),
    ([1, "x"], list[int], "expected a list of integers"),
    (3, float, None),
    (True, int, "expected an integer"),
    (float("inf"), float, "not a finite number"),
    ("bf16-mixed", Literal[32, 16] | Literal["bf16-mixed"] | None, None),
    (17, Literal[32, 16] | Literal["bf16-mixed"] | None, "expected one of 32, 16, 'bf16-mixed' or null"),
    ([0.9, 0.99], tuple[float, float], None),
    ([0.9], tuple[float, float], "expected a list of 2"),
    ({"a": 1}, dict[str, Any], None),
    ("x", Path | str, None),
    ("x", "SomeForwardReference", None),
])
def test_values_are_judged_by_their_annotation(value: Any, hint: Any, problem: str | None) -> None:
    found = type_problem(value, hint)
    assert found == problem if problem is None else (found is not None and problem in found), found


class Base:
    def __init__(self, batch_size: int = 64, shuffle: bool = True) -> None:
        self.batch_size, self.shuffle = batch_size, shuffle


class Child(Base):
    def __init__(self, fraction: float = 0.1, **loader_args: Any) -> None:
        super().__init__(**loader_args)


def test_keyword_arguments_are_followed_to_the_base_class() -> None:
    hints, is_open = keyword_parameters(Child)
    assert list(hints) == ["fraction", "batch_size", "shuffle"] and not is_open
    registry = Registry("dataset")
    registry.register("child")(Child)
    misspelt = r"unexpected argument 'batch_sise' \(did you mean 'batch_size'\?\)"
    with pytest.raises(RegistryError, match=misspelt) as info:
        registry.check({"name": "child", "args": {"batch_sise": 8}})
    assert info.value.key == "args.batch_sise"
    with pytest.raises(RegistryError, match=r"^'eight': expected an integer, for dataset 'child'") as info:
        registry.check({"name": "child", "args": {"batch_size": "eight"}})
    assert info.value.key == "args.batch_size"


def test_checkpoint_keys_are_model_checkpoints_arguments() -> None:
    """The torch-free list the structure check uses (so the plain entry and the TUI refuse a misspelt
    key at once) is Lightning's own, less `dirpath`, which torchx sets."""
    import inspect

    from pytorch_lightning.callbacks import ModelCheckpoint

    assert {*CHECKPOINT_KEYS, "dirpath"} == set(inspect.signature(ModelCheckpoint).parameters)


@pytest.mark.slow
def test_serve_answers_each_request_in_one_json_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchx.check import serve

    monkeypatch.chdir(REPO)
    requests = [{"id": 1, "config": DIGITS, "overrides": []},
                {"id": 2, "config": DIGITS, "overrides": ["trainer_params.max_epoch=3"]},
                "not json",
                {"id": 3, "config": DIGITS, "overrides": ["train_wrapper.args.optim_spec.args.lr=abc"]},
                {"id": 4, "config": DIGITS, "overrides": ["--gpu"], "entry": "train"},
                {"id": 5, "config": DIGITS, "overrides": ["trainer_params.max_epoch=3"], "entry": "train"}]
    lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in requests)
    out = io.StringIO()
    assert serve(io.StringIO(lines), out) == 0
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["id"] for a in answers] == [1, 2, None, 3, 4, 5]
    assert answers[0] == {"id": 1, "ok": True, "message": "config ok"}
    assert answers[1]["message"].startswith(f"{DIGITS}: trainer_params.max_epoch: 3: pytorch_lightning."
                                            "Trainer: unexpected argument 'max_epoch' (did you mean "
                                            "'max_epochs'?)")
    assert not answers[2]["ok"] and answers[2]["message"].startswith("bad request")
    assert answers[3]["message"] == (f"{DIGITS}: train_wrapper.args.optim_spec.args.lr: 'abc': expected a "
                                     "number, for torch.optim.AdamW")
    assert not answers[4]["ok"] and "override '--gpu'" in answers[4]["message"]
    assert answers[5]["message"] == (f"{DIGITS}: trainer_params.max_epoch: 3: not a Trainer argument "
                                     "(did you mean 'max_epochs'?)")
    assert all("\n" not in a["message"] for a in answers)


@pytest.mark.slow
def test_check_command_checks_for_either_entry() -> None:
    """`--entry train` runs the plain entry's own check: the GAN wrapper is refused there only."""
    gan = "configs/digits-gan.yaml"

    def check(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "torchx.check", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL, env=entry_env())

    ok = check("--config", gan)
    assert ok.returncode == 0 and ok.stdout.strip() == f"ok: {gan}", ok.stderr
    plain = check("--config", gan, "--entry", "train")
    assert plain.returncode == 2
    assert plain.stderr.strip() == (f"error: {gan}: train_wrapper.name: the plain entry runs only the 'base' "
                                    "wrapper, not 'gan' (use python -m torchx.train_pl)")
