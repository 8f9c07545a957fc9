"""Each bad input: one line naming file, key and value, exit status 2, and nothing written (the README's
promise), through both real entries as a user runs them — values inside model, data, optimizer,
checkpoint and Trainer arguments included, as are flags, names, the save dir and hostile config files."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DIGITS, REPO, entry_cmd, run_entry
from tests.conftest import test_env as entry_env

ENTRIES = ("train_pl", "train")
NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}  # --gpu 0 must be refused on any machine


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def digits_with(tmp_path: Path, old: str, new: str) -> str:
    text = (REPO / DIGITS).read_text()
    assert old in text
    return write(tmp_path, "c.yaml", text.replace(old, new))


def fifo(tmp_path: Path) -> str:
    path = tmp_path / "fifo.yaml"
    os.mkfifo(path)
    return str(path)


def alias_bomb(tmp_path: Path) -> str:
    """Nine levels of nine aliases each: a few hundred bytes that stand for 9**9 strings."""
    lines, previous = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"], "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    return write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")


def unwritable(tmp_path: Path) -> str:
    """A save dir inside a directory nobody may write to (root may write anywhere but /proc/sys)."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    parent = locked if not os.access(locked, os.W_OK) else Path("/proc/sys")
    return str(parent / "save")


def a_file(tmp_path: Path) -> str:
    return write(tmp_path, "save-is-a-file", "")


@dataclass(frozen=True)
class Case:
    """`args(tmp_path)`: the command line after the entry; every string of `expected` (or of
    `expected[entry]`) appears in the one line; `flags`: replaces the default --save-dir/--name."""

    args: Callable[[Path], list[str]]
    expected: tuple[str, ...] | dict[str, tuple[str, ...]]
    entries: tuple[str, ...] = ENTRIES
    flags: Callable[[Path], list[str]] | None = None
    env: dict[str, str] | None = None

    def wanted(self, entry: str) -> tuple[str, ...]:
        return self.expected[entry] if isinstance(self.expected, dict) else self.expected


def digits(*overrides: str) -> Callable[[Path], list[str]]:
    return lambda t: ["--config", DIGITS, *overrides]


def save_dir_only(tmp_path: Path) -> list[str]:
    """For cases whose own flags name the run: a save dir that must not come to exist."""
    return ["--save-dir", str(tmp_path / "save")]


CASES = {
    # names and files
    "unknown model": Case(lambda t: ["--config", digits_with(t, "name: mlp", "name: mlpp")],
                          ("train_wrapper.args.model_spec: unknown model 'mlpp' (did you mean 'mlp'?)",)),
    "unknown argument": Case(lambda t: ["--config", digits_with(t, "hidden:", "hiden:")],
                             ("model_spec.args.hiden: [256, 128]:", "unexpected argument 'hiden' "
                              "(did you mean 'hidden'?)")),
    "malformed yaml": Case(lambda t: ["--config", write(t, "bad.yaml", "seed: 1\nmodel: [1, 2\n")],
                           ("bad.yaml: malformed YAML at line",)),
    "bad override": Case(digits("trainer_params.max_epochs"),
                         ("override 'trainer_params.max_epochs': expected key.path=value",)),
    "unknown optimizer": Case(digits("train_wrapper.args.optim_spec.name=Adamm"),
                              ("train_wrapper.args.optim_spec.name: unknown torch.optim class 'Adamm' "
                               "(did you mean 'Adam'?)",)),
    "missing mnist": Case(lambda t: ["--config", "configs/mnist-classification.yaml",
                                     f"data_module.args.root={t}/nowhere"], ("MNIST files missing in",)),
    "missing config": Case(lambda t: ["--config", "configs/nope.yaml"],
                           ("configs/nope.yaml: no such config file",)),
    "fifo config": Case(lambda t: ["--config", fifo(t)], ("fifo.yaml: not a regular file (a FIFO)",)),
    "alias bomb": Case(lambda t: ["--config", alias_bomb(t)],
                       ("bomb.yaml: refused: its aliases expand to more than 100,000 values",)),
    # values of model, data and optimizer arguments
    "ill-typed model argument": Case(digits("train_wrapper.args.model_spec.args.hidden=abc"),
                                     ("train_wrapper.args.model_spec.args.hidden: 'abc': expected a list of "
                                      "integers",)),
    "zero batch size": Case(digits("data_module.args.batch_size=0"),
                            ("data_module.args.batch_size: 0: must be a positive integer",)),
    "ill-typed learning rate": Case(digits("train_wrapper.args.optim_spec.args.lr=fast"),
                                    ("train_wrapper.args.optim_spec.args.lr: 'fast': expected a number",)),
    "absurd learning rate": Case(digits("train_wrapper.args.optim_spec.args.lr=1e308"),
                                 ("train_wrapper.args.optim_spec.args.lr: 1e+308: must be from 0 to 1000",)),
    "infinite learning rate": Case(digits("train_wrapper.args.optim_spec.args.lr=.inf"),
                                   ("train_wrapper.args.optim_spec.args.lr: inf: not a finite number",)),
    "validation fraction over 1": Case(digits("data_module.args.val_fraction=2.0"),
                                       ("data_module.args.val_fraction: 2.0: must be a fraction",)),
    "zero scheduler period": Case(digits("train_wrapper.args.sched_spec.args.T_max=0"),
                                  ("train_wrapper.args.sched_spec.args:", "CosineAnnealingLR",
                                   "ZeroDivisionError")),
    "huge batch size": Case(digits("data_module.args.batch_size=100000000000000000000"),
                            ("data_module.args.batch_size: 100000000000000000000: integer too large",)),
    "huge model": Case(digits("train_wrapper.args.model_spec.args.hidden=[1000000000000]"),
                       ("train_wrapper.args.model_spec: 'mlp': 75,000,000,000,010 parameters need",)),
    "huge seed": Case(digits("seed=1099511627776"), ("seed: 1099511627776: must be an integer from 0 to",)),
    # checkpoint
    "unknown checkpoint key": Case(digits("checkpoint.monitr=val/acc"),
                                   ("checkpoint.monitr: 'val/acc': not an argument of ModelCheckpoint "
                                    "(did you mean 'monitor'?)",)),
    "checkpoint dirpath": Case(digits("checkpoint.dirpath=elsewhere"),
                               ("checkpoint.dirpath: 'elsewhere': set by torchx",)),
    "checkpoint mode": Case(digits("checkpoint.mode=maxx"),
                            ("checkpoint.mode: 'maxx': must be 'min' or 'max'",)),
    "checkpoint outside the run": Case(digits("checkpoint.filename=../../outside"),
                                       ("checkpoint.filename: '../../outside': must be a file name inside "
                                        "the run's ckpt/ directory",)),
    # Trainer arguments and devices
    "misspelt trainer argument": Case(digits("trainer_params.max_epoch=3"),
                                      ("trainer_params.max_epoch: 3:", "(did you mean 'max_epochs'?)")),
    "bad override value": Case(digits("trainer_params.max_epochs=-1"),
                               ("trainer_params.max_epochs: -1: must be a positive integer",)),
    "zero log interval": Case(digits("trainer_params.log_every_n_steps=0"),
                              ("trainer_params.log_every_n_steps: 0: must be a positive integer",)),
    "huge epoch count": Case(digits("trainer_params.max_epochs=1000000000000000000000000000000"),
                             ("trainer_params.max_epochs: 1000000000000000000000000000000: integer too "
                              "large",)),
    "unknown accelerator": Case(digits("trainer_params.accelerator=tpuu"),
                                ("trainer_params.accelerator: 'tpuu':",)),
    "unknown precision": Case(digits("trainer_params.precision=17"), ("trainer_params.precision:", "17")),
    "unknown strategy": Case(digits("trainer_params.strategy=ddpp"),
                             ("trainer_params.strategy: 'ddpp': ValueError: You selected an invalid "
                              "strategy",),
                             entries=("train_pl",)),
    "a hundred CPU processes": Case(
        digits("trainer_params.accelerator=cpu", "trainer_params.devices=100"),
        {"train_pl": ("trainer_params.devices: 100: 100 CPU processes on",),
         "train": ("trainer_params.devices: the plain entry runs on one device",)}),
    "gpu flag without a GPU": Case(digits("--gpu", "0"),
                                   ("--gpu 0: no GPU 0 on this machine (none visible)",), env=NO_GPU),
    "gpu accelerator without a GPU": Case(digits("trainer_params.accelerator=gpu"),
                                          ("trainer_params.accelerator: 'gpu': no GPU 0 on this machine",),
                                          entries=("train_pl",), env=NO_GPU),
    "bad gpu flag": Case(digits("--gpu", "zero"), ("--gpu 'zero': expected",)),
    # names and the save dir
    "bad name": Case(digits("--name", "../escape"), ("must not contain '/'",), flags=save_dir_only),
    "empty name": Case(digits("--name", ""), ("run name is empty",), flags=save_dir_only),
    "name ending in a newline": Case(digits("--name", "run\n"), ("run name 'run\\n' may use only",),
                                     flags=save_dir_only),
    "resume unknown": Case(lambda t: ["--resume", "ghost"], ("cannot resume 'ghost'",), flags=save_dir_only),
    "resume outside the save dir": Case(lambda t: ["--resume", "../x"], ("must not contain '/'",),
                                        flags=save_dir_only),
    "save dir is a file": Case(digits(), ("--save-dir", "save-is-a-file: is not a directory"),
                               flags=lambda t: ["--save-dir", a_file(t), "--name", "x"]),
    "save dir under a file": Case(digits(), ("save-is-a-file/save: cannot be made:", "is not a directory"),
                                  flags=lambda t: ["--save-dir", f"{a_file(t)}/save", "--name", "x"]),
    "unwritable save dir": Case(digits(), ("--save-dir", "is not writable"),
                                flags=lambda t: ["--save-dir", unwritable(t), "--name", "x"]),
}


def refuse(entry: str, case: Case, tmp_path: Path) -> str:
    """Run the entry on the case; assert exit 2, one `error:` line and nothing written; return the line."""
    flags = case.flags(tmp_path) if case.flags else ["--save-dir", str(tmp_path / "save"), "--name", "x"]
    args = case.args(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    result = subprocess.run(entry_cmd(entry, *args, *flags), cwd=REPO, capture_output=True, text=True,
                            timeout=300, stdin=subprocess.DEVNULL, env={**entry_env(), **(case.env or {})})
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-3000:]
    assert sorted(tmp_path.rglob("*")) == before  # no save dir, no run dir, no checkpoint anywhere
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "entry"), [(c, e) for c in CASES for e in CASES[c].entries])
def test_bad_input_is_one_line_exit_2_nothing_written(case: str, entry: str, tmp_path: Path) -> None:
    line = refuse(entry, CASES[case], tmp_path)
    for part in CASES[case].wanted(entry):
        assert part in line, line


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
