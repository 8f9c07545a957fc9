"""What the sweep view shows (`tui.queue.sweeps.view`), without the UI: the header, the trials' cells,
the best-so-far curve, one scatter a key (log where the space is), the importance bars; and the reader,
on a real journal, reading again only when a file changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.queue.test_sweep_driver import three_ended_trials
from tui.queue.sweeps.space import parse_space
from tui.queue.sweeps.spec import Sweep
from tui.queue.sweeps.trials import TrialRow, rank
from tui.queue.sweeps.view import (
    SweepData,
    SweepReader,
    columns,
    header,
    history_plot,
    importance_lines,
    param_plots,
    trial_cells,
    trial_status,
)
from tui.run.files import trial_of
from tui.text import objective_text, param_text, short_keys

LR = "train_wrapper.args.optim_spec.args.lr"
SPACE = parse_space([f"{LR}=loguniform(1e-4,1e-2)", "model.args.act=relu,gelu", "model.args.layers=1,2,4"])


def sweep(**kw: object) -> Sweep:
    return Sweep("lr", {"config": "c.yaml"}, kw.pop("space", SPACE), "tpe", 6, "val/acc",  # type: ignore[arg-type]
                 str(kw.pop("mode", "max")), **kw)  # type: ignore[arg-type]


def trial(number: int, state: str, value: float | None, lr: float = 1e-3, act: str = "relu",
          layers: int = 2, status: str = "finished") -> TrialRow:
    return TrialRow(number, f"lr-{number}", state, status, value, 2,
                    {LR: lr, "model.args.act": act, "model.args.layers": layers})


ROWS = (trial(0, "complete", 0.5, lr=1e-4, act="gelu"), trial(1, "complete", 0.9, lr=3e-3),
        trial(2, "pruned", 0.1, status="pruned"), trial(3, "complete", 0.7, lr=1e-2, layers=4),
        trial(4, "running", 0.2, status="running"), trial(5, "fail", None, status=""))


def data(rows: tuple[TrialRow, ...] = ROWS, **kw: object) -> SweepData:
    made = sweep(**kw)
    return SweepData(made, tuple(rank(rows, made.mode)), ())


def test_the_header_names_the_sweep_its_objective_progress_and_best_trial() -> None:
    assert header(data()) == "lr · tpe · val/acc (max) · 5/6 told, 1 running · best lr-1 0.9"
    assert header(data(ROWS[4:])) == "lr · tpe · val/acc (max) · 1/6 told, 1 running · no trial complete yet"
    assert header(data(mode="min")).endswith("best lr-0 0.5")


def test_the_cells_show_rank_status_pruned_value_epochs_and_each_key_short() -> None:
    shown = data()
    assert columns(shown.sweep) == ("#", "trial", "status", "acc", "ep", "lr", "act", "layers")
    cells = [trial_cells(place, row, shown.sweep) for place, row in enumerate(shown.rows, start=1)]
    assert [c[:5] for c in cells] == [
        ("1", "lr-1", "finished", "0.9", "2"), ("2", "lr-3", "finished", "0.7", "2"),
        ("3", "lr-0", "finished", "0.5", "2"), ("4", "lr-2", "pruned", "0.1", "2"),
        ("5", "lr-4", "running", "0.2", "2"), ("6", "lr-5", "failed", "-", "2")]
    assert cells[0][5:] == ("0.003", "relu", "2")
    stopped_by_hand = trial(7, "pruned", 0.3, status="stopped")
    assert trial_status(stopped_by_hand) == "pruned"
    assert trial_status(trial(8, "running", None, status="")) == "asked"


def test_the_best_so_far_follows_the_trial_numbers_of_complete_trials() -> None:
    plot = history_plot(data())
    assert plot.points == ((0, 0.5), (1, 0.9), (3, 0.7))
    assert plot.line == ((0, 0.5), (1, 0.9), (3, 0.9))
    assert history_plot(data(mode="min")).line == ((0, 0.5), (1, 0.5), (3, 0.5))
    assert history_plot(data(ROWS[4:])).points == ()


def test_one_scatter_a_key_log_where_the_space_is_log_choices_as_ticks() -> None:
    lr, act, layers = param_plots(data())
    assert (lr.xlabel, lr.log, lr.ticks) == ("lr", True, ())
    assert sorted(lr.points) == [(1e-4, 0.5), (3e-3, 0.9), (1e-2, 0.7)]  # complete trials only
    assert (act.log, act.ticks) == (False, ("relu", "gelu"))
    assert sorted(act.points) == [(0.0, 0.7), (0.0, 0.9), (1.0, 0.5)]
    assert (layers.ticks, sorted(layers.points)) == ((), [(2.0, 0.5), (2.0, 0.9), (4.0, 0.7)])


def test_importances_are_bars_largest_first_or_the_reason_there_are_none() -> None:
    shown = SweepData(sweep(), ROWS, ((LR, 0.75), ("model.args.layers", 0.2), ("model.args.act", 0.05)))
    lines = importance_lines(shown, width=40)
    assert [line.split()[0] for line in lines] == ["lr", "layers", "act"]
    assert lines[0].endswith(" 0.75") and lines[0].count("█") > lines[1].count("█") > 0
    assert all(len(line) == len(lines[0]) for line in lines)
    one_complete = data(tuple(r for r in ROWS if r.number != 1 and r.number != 3))
    assert importance_lines(one_complete) == ["importances need two complete trials (1 so far)"]
    single = data(space=parse_space([f"{LR}=loguniform(1e-4,1e-2)"]))
    assert "one" in importance_lines(single)[0]


def test_the_shared_formatting_of_sweep_show() -> None:
    assert short_keys([LR, "a.lr", "seed"]) == {LR: LR, "a.lr": "a.lr", "seed": "seed"}
    assert short_keys([LR, "seed"]) == {LR: "lr", "seed": "seed"}
    assert (objective_text(None), objective_text(0.123456789), param_text(0.00031234), param_text(3)) == \
        ("-", "0.123457", "0.0003123", "3")


def test_live_until_every_trial_is_told_and_no_more_will_be_asked() -> None:
    assert data().live  # a running trial
    told = tuple(r for r in ROWS if r.state != "running")
    assert data(told).live  # the sweep is not done: more trials will be asked
    assert not data(told, done=True).live


def test_the_reader_reads_a_real_journal_and_again_only_on_change(save_dir: Path) -> None:
    _, driver = three_ended_trials(save_dir)
    driver.tick()
    reader = SweepReader(save_dir, "s")
    read = reader.read()
    assert read is not None and read.data is not None and not read.error
    assert [(r.run, r.state, trial_status(r)) for r in read.data.rows] == [
        ("s-1", "complete", "finished"), ("s-0", "complete", "finished"), ("s-2", "pruned", "pruned")]
    assert {k for k, _ in read.data.importances} == {"seed", "trainer_params.limit_val_batches"}
    assert not read.data.live  # every trial told, the sweep done
    assert set(read.runs) == {"s-0", "s-1", "s-2"} and read.runs["s-1"].sweep == "s"
    assert reader.read() is None  # nothing changed: nothing read
    events = save_dir / "s-1" / "events.jsonl"
    os.utime(events, ns=(0, events.stat().st_mtime_ns + 10**9))
    assert reader.read() is not None
    missing = SweepReader(save_dir, "nope").read()
    assert missing is not None and missing.data is None and "no sweep 'nope'" in missing.error


@pytest.mark.parametrize(("record", "trial"), [
    (None, None), ({}, None), ({"queued": None}, None), ({"queued": {"sweep": "s", "trial": 2}}, ("s", 2)),
    ({"queued": {"sweep": "s", "trial": 2}, "launches": [{}], "launched_at": 1.0}, ("s", 2)),
    ({"queued": {"sweep": "s"}}, None), ({"queued": {"sweep": "s", "trial": -1}}, None),
    ({"queued": {"sweep": "s", "trial": True}}, None), ({"queued": {"sweep": 3, "trial": 0}}, None),
    ({"queued": {"position": 1}}, None)])
def test_a_trial_is_known_by_its_run_json(record: dict | None, trial: tuple[str, int] | None) -> None:
    """`RunRow.sweep` (the `sweep:` filter, `w`), the runner and the queue's listing all ask `trial_of`;
    a launched trial stays one."""
    assert trial_of(record) == trial
