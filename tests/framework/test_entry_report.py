"""What the entries print for a person: a start line, epoch lines, one end line, no known
third-party noise. The entries run for real as subprocesses; the filters are checked in-process."""

from __future__ import annotations

import logging
import os
import re
import signal
import warnings
from pathlib import Path

import pytest

from tests.conftest import DIGITS, run_entry, start_entry, wait_for
from torchx.events import EventWriter, read_events
from torchx.quiet import KNOWN_WARNINGS, LIGHTNING_INFO_LOGGERS, quiet_known_noise
from torchx.report import end_line

END = re.compile(r"torchx: (?P<status>finished|stopped|failed) '(?P<name>[^']+)'(?: \((?P<reason>[^)]*)\))?"
                 r" in (?P<elapsed>\d+:\d\d:\d\d), (?P<done>\d+)/(?P<total>\d+) epochs"
                 r"(?: · (?P<error>\w+: [^·]*))?"
                 r"(?: · best (?P<monitor>\S+) (?P<value>\S+) \(epoch (?P<epoch>\d+), (?P<best>[^)]+)\))?"
                 r"(?: · (?P<last>\S+last\.ckpt))?")
NOISE = ("LeafSpec", "srun", "💡 Tip")  # the known third-party lines `torchx.quiet` filters


def report_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("torchx:")]


def end_match(stdout: str) -> re.Match[str]:
    """The run's one end line, matched whole."""
    ends = [line for line in report_lines(stdout) if END.fullmatch(line)]
    assert len(ends) == 1, stdout
    match = END.fullmatch(ends[0])
    assert match is not None
    return match


def val_accs(run_dir: Path) -> list[float]:
    events, bad = read_events(run_dir / "events.jsonl")
    assert bad == []
    return [e["metrics"]["val/acc"] for e in events if e["event"] == "epoch"]


def assert_finished_with_best(stdout: str, run_dir: Path, epochs: int) -> None:
    end = end_match(stdout)
    assert end["status"] == "finished" and end["name"] == run_dir.name and end["reason"] is None
    assert int(end["done"]) == int(end["total"]) == epochs
    assert end["monitor"] == "val/acc"  # the digits config's checkpoint.monitor, mode max
    accs = val_accs(run_dir)
    assert float(end["value"]) == pytest.approx(max(accs), abs=1e-4)
    assert int(end["epoch"]) == accs.index(max(accs)) + 1
    assert (run_dir / end["best"]).is_file() and Path(end["last"]) == run_dir / "ckpt" / "last.ckpt"
    assert Path(end["last"]).is_file()
    assert report_lines(stdout)[-1] == end.group(0)  # the end line is the last thing the run says


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["train_pl", "train"])
def test_entry_prints_start_and_one_end_line_without_known_noise(save_dir: Path, entry: str) -> None:
    result = run_entry(entry, "--config", DIGITS, "--save-dir", str(save_dir), "--name", "r", "--gpu", "cpu",
                       "trainer_params.max_epochs=3", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = save_dir / "r"
    assert report_lines(result.stdout)[0] == f"torchx: run 'r' in {run_dir} ({entry})"
    assert_finished_with_best(result.stdout, run_dir, epochs=3)
    assert not [noise for noise in NOISE if noise in result.stderr], result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["train", "train_pl"])
def test_entry_prints_each_epoch_and_a_resume(save_dir: Path, entry: str) -> None:
    """Piped, as a detached run's `stdout.log` is: the Lightning entry has no progress bar there, so it
    prints the plain entry's epoch lines."""
    args = ("--save-dir", str(save_dir), "--gpu", "cpu")
    first = run_entry(entry, "--config", DIGITS, "--name", "p", *args, "trainer_params.max_epochs=2",
                      timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    epoch_lines = [line for line in report_lines(first.stdout) if line.startswith("torchx: epoch ")]
    accs = val_accs(save_dir / "p")
    assert len(epoch_lines) == 2 == len(accs)
    for number, (line, acc) in enumerate(zip(epoch_lines, accs, strict=True), 1):
        match = re.fullmatch(r"torchx: epoch (\d+)/2 (?:\S+=\S+ )*val/acc=(\S+)(?: \S+=\S+)* · \S+s · "
                             r"elapsed \d+:\d\d:\d\d", line)
        assert match is not None, line
        assert int(match[1]) == number and float(match[2]) == pytest.approx(acc, rel=1e-3)
        assert "train/loss=" in line and "val/loss=" in line

    resumed = run_entry(entry, "--resume", "p", *args, "trainer_params.max_epochs=4", timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run_dir = save_dir / "p"
    last = run_dir / "ckpt" / "last.ckpt"
    assert report_lines(resumed.stdout)[0] == f"torchx: run 'p' in {run_dir} ({entry}, resumed from {last})"
    assert [line.split()[2] for line in report_lines(resumed.stdout)[1:3]] == ["3/4", "4/4"]
    assert_finished_with_best(resumed.stdout, run_dir, epochs=4)  # the best over both starts


@pytest.mark.slow
def test_a_stopped_run_says_stopped_and_why(save_dir: Path) -> None:
    log = save_dir / "s.out"
    proc = start_entry("train", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "s",
                       "--gpu", "cpu", "trainer_params.max_epochs=100000", log=log)
    wait_for(lambda: "torchx: epoch 2/" in log.read_text(), timeout=120, what="two epochs")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 0
    end = end_match(log.read_text())
    assert end["status"] == "stopped" and "SIGINT" in (end["reason"] or "")
    assert Path(end["last"]).is_file() and int(end["done"]) >= 2


@pytest.mark.slow
def test_a_failed_run_says_failed_once_then_the_traceback(save_dir: Path) -> None:
    # the checker builds the model on the meta device: a wrong input size only fails at the first batch
    result = run_entry("train", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "f",
                       "--gpu", "cpu", "train_wrapper.args.model_spec.args.in_dim=63", timeout=300)
    assert result.returncode == 1
    end = end_match(result.stdout)
    assert end["status"] == "failed" and end["error"].startswith("RuntimeError: mat1 and mat2")
    assert end["done"] == "0" and end["monitor"] is None
    assert "Traceback" in result.stderr


@pytest.mark.slow
def test_only_rank_zero_reports_under_ddp(save_dir: Path) -> None:
    result = run_entry("train_pl", "--config", DIGITS, "--save-dir", str(save_dir), "--name", "ddp",
                       "trainer_params.max_epochs=1", "trainer_params.accelerator=cpu",
                       "trainer_params.devices=2", "trainer_params.strategy=ddp", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = report_lines(result.stdout)
    assert [line for line in lines if line.startswith("torchx: run ")] == [lines[0]]
    assert len([line for line in lines if line.startswith("torchx: epoch 1/1 ")]) == 1
    assert_finished_with_best(result.stdout, save_dir / "ddp", epochs=1)


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["train_pl", "train"])
def test_bad_input_prints_only_its_error_line(save_dir: Path, entry: str) -> None:
    result = run_entry(entry, "--resume", "ghost", "--save-dir", str(save_dir), timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: cannot resume 'ghost'") and result.stderr.count("\n") == 1


def test_end_line_folds_min_mode_and_names_only_files_that_exist(tmp_path: Path) -> None:
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "last.ckpt").write_bytes(b"")
    writer = EventWriter(tmp_path / "events.jsonl")
    writer.write("start", name="m", max_epochs=3)
    for epoch, loss in enumerate((0.5, 0.2, 0.2)):
        writer.write("epoch", epoch=epoch, step=epoch, metrics={"val/loss": loss})
        writer.write("ckpt", path=f"ckpt/e{epoch}.ckpt", epoch=epoch, step=epoch, monitor="val/loss",
                     value=loss)
    writer.write("end", status="finished", elapsed_s=75.0, error=None, reason=None)
    writer.close()
    line = end_line(tmp_path, {"monitor": "val/loss"})  # no mode: min, as Lightning's default
    last = tmp_path / "ckpt" / "last.ckpt"
    # a tie keeps the first; ckpt/e1.ckpt was removed (save_top_k): the value stays, the path goes
    assert line == f"torchx: finished 'm' in 0:01:15, 3/3 epochs · best val/loss 0.2 (epoch 2) · {last}"


def test_quiet_drops_only_the_known_lines() -> None:
    message, category, _ = KNOWN_WARNINGS[1]
    known = "`isinstance(treespec, LeafSpec)` is deprecated, use ... instead."
    assert re.match(message, known)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_known_noise()
        lightning = "pytorch_lightning.utilities._pytree"
        warnings.warn_explicit(known, category, "_pytree.py", 21, module=lightning)
        warnings.warn_explicit("`Thing` is deprecated", category, "_pytree.py", 21,
                               module=lightning)  # same module, other message
        warnings.warn_explicit(known, category, "mine.py", 1, module="mine")  # same message, user's module
        warnings.warn("my own warning", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["`Thing` is deprecated", known, "my own warning"]

    logger = logging.getLogger(LIGHTNING_INFO_LOGGERS[0])
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("💡 Tip: For seamless cloud logging, try installing a thing")
        logger.warning("GPU available: False, used: False")
    finally:
        logger.removeHandler(handler)
    assert seen == ["GPU available: False, used: False"]
