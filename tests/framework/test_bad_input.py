"""Each bad input: one line naming the problem, exit status 2, and no run directory left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DIGITS, REPO, run_entry


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def digits_with(tmp_path: Path, old: str, new: str) -> str:
    text = (REPO / DIGITS).read_text()
    assert old in text
    return write(tmp_path, "c.yaml", text.replace(old, new))


CASES = {
    "unknown model": (lambda t: ["--config", digits_with(t, "name: mlp", "name: mlpp")],
                      r"train_wrapper.args.model_spec: unknown model 'mlpp' (did you mean 'mlp'?)"),
    "unknown argument": (lambda t: ["--config", digits_with(t, "hidden:", "hiden:")],
                         "unexpected argument 'hiden' (did you mean 'hidden'?)"),
    "malformed yaml": (lambda t: ["--config", write(t, "bad.yaml", "seed: 1\nmodel: [1, 2\n")],
                       "bad.yaml: malformed YAML at line"),
    "bad override": (lambda t: ["--config", DIGITS, "trainer_params.max_epochs"],
                     "override 'trainer_params.max_epochs': expected key.path=value"),
    "bad override value": (lambda t: ["--config", DIGITS, "trainer_params.max_epochs=-1"],
                           "trainer_params.max_epochs: must be a positive integer, got -1"),
    "unknown trainer arg": (lambda t: ["--config", DIGITS, "trainer_params.max_epoch=3"],
                            "trainer_params: pytorch_lightning.Trainer:"),
    "unknown optimizer": (lambda t: ["--config", DIGITS, "train_wrapper.args.optim_spec.name=Adamm"],
                          "optim_spec.name: unknown torch.optim class 'Adamm'"),
    "missing mnist": (lambda t: ["--config", "configs/mnist-classification.yaml",
                                 f"data_module.args.root={t}/nowhere"],
                      "MNIST files missing in"),
    "missing config": (lambda t: ["--config", "configs/nope.yaml"], "configs/nope.yaml: no such config file"),
    "bad gpu flag": (lambda t: ["--config", DIGITS, "--gpu", "zero"], "--gpu 'zero': expected"),
    "bad name": (lambda t: ["--config", DIGITS, "--name", "../escape"], "must not contain '/'"),
    "resume unknown": (lambda t: ["--resume", "ghost"], "cannot resume 'ghost'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_exit_2_nothing_written(case: str, tmp_path: Path, save_dir: Path) -> None:
    args, expected = CASES[case]
    entry = "train" if case == "missing mnist" else "train_pl"
    result = run_entry(entry, *args(tmp_path), "--save-dir", str(save_dir), "--name", "x"
                       ) if case not in ("bad name", "resume unknown") else run_entry(
        entry, *args(tmp_path), "--save-dir", str(save_dir))
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert expected in lines[0]
    assert list(save_dir.iterdir()) == []


def test_existing_run_name_is_refused_and_untouched(save_dir: Path) -> None:
    run_dir = save_dir / "taken"
    run_dir.mkdir()
    (run_dir / "events.jsonl").write_text('{"v": 1, "time": 1, "event": "start"}\n')
    result = run_entry("train", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "taken")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: run 'taken' already exists in {save_dir} "
                                     "(use --resume taken or another --name)")
    assert [p.name for p in run_dir.iterdir()] == ["events.jsonl"]


def test_resume_with_the_other_entry_is_refused(save_dir: Path) -> None:
    assert run_entry("train", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "p",
                     "trainer_params.max_epochs=1").returncode == 0
    result = run_entry("train_pl", "--resume", "p", "--save-dir", str(save_dir))
    assert result.returncode == 2
    assert "it was trained by torchx.train" in result.stderr
