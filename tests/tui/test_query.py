"""The filter language and sort orders (`tui.table.query`), on plain rows."""

from __future__ import annotations

import shlex
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from diff_dirs import CONFIG
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.history.diff import diff_configs
from tui.run.files import flatten, parse_tags, read_config_values
from tui.table.query import Order, QueryError, parse, sort_rows
from tui.table.rows import RunRow

LR = "train_wrapper.args.optim_spec.args.lr"


def run(name: str, status: str = "finished", **kw: object) -> RunRow:
    return RunRow(name, status, **kw)  # type: ignore[arg-type]


ROWS = [
    run("digits-a", config="digits-classification", metrics={"val/acc": 0.95, "train/loss": 0.1},
        cfg={LR: 0.0005, "train_wrapper.args.optim_spec.name": "AdamW", "trainer_params.fast": True},
        started=datetime(2026, 11, 2, 9, 30).timestamp(), tags=("baseline",), note="first try", epoch=30),
    run("digits-b", "failed", config="digits-gan", metrics={"val/acc": 0.5},
        cfg={LR: "2e-3", "train_wrapper.args.optim_spec.name": "SGD"},
        started=datetime(2026, 11, 1, 23, 59).timestamp(), epoch=3, sweep="lr"),
    run("cifar-c", "running", config="cifar", cfg={}, started=datetime(2026, 10, 1).timestamp(),
        tags=("sweep", "lr-sweep"), sweep="lr-wide"),
    run("notes", "not a run"),
]


def names(text: str) -> list[str]:
    query = parse(text)
    return [r.name for r in ROWS if query.matches(r)]


@pytest.mark.parametrize("text, expected", [
    ("", ["digits-a", "digits-b", "cifar-c", "notes"]),
    ("digits", ["digits-a", "digits-b"]),
    ("DIGITS -b", ["digits-b"]),
    ("first", ["digits-a"]),  # free text matches notes
    ("lr-sw", ["cifar-c"]),  # ... and tags
    ("status:failed", ["digits-b"]),
    ("status:f*", ["digits-a", "digits-b"]),
    ("config:digits*", ["digits-a", "digits-b"]),
    ("tag:baseline", ["digits-a"]),
    ("tag:*sweep", ["cifar-c"]),
    ("name:*-c", ["cifar-c"]),
    ("note:try", ["digits-a"]),
    ("val/acc>0.9", ["digits-a"]),
    ("val/acc>=0.5", ["digits-a", "digits-b"]),
    ("val/acc<0.9", ["digits-b"]),
    ("val/acc<=0.5", ["digits-b"]),
    ("val/acc=0.5", ["digits-b"]),
    ("val/acc!=0.5", ["digits-a"]),
    (f"cfg.{LR}<1e-3", ["digits-a"]),
    (f"cfg.{LR}>1e-3", ["digits-b"]),  # "2e-3" read as text by a YAML 1.1 loader still compares as a number
    ("cfg.train_wrapper.args.optim_spec.name=adam*", ["digits-a"]),
    ("cfg.train_wrapper.args.optim_spec.name!=AdamW", ["digits-b"]),
    ("cfg.train_wrapper.args.optim_spec.name<B", ["digits-a"]),
    ("cfg.trainer_params.fast=true", ["digits-a"]),
    ("cfg.no.such.key=1", []),
    ("started>2026-11-01", ["digits-a"]),  # a day is a whole day
    ("started>=2026-11-01", ["digits-a", "digits-b"]),
    ("started<2026-11-01", ["cifar-c"]),
    ("started<=2026-11-01", ["digits-b", "cifar-c"]),
    ("started=2026-11-01", ["digits-b"]),
    ("started!=2026-11-01", ["digits-a", "cifar-c"]),
    ("started>2026-11-02T09:29", ["digits-a"]),
    ("started>2026-11-02T09:30", []),
    ("epoch>=30", ["digits-a"]),
    ("digits status:finished val/acc>0.9 tag:baseline", ["digits-a"]),  # AND
    ('"first try"', ["digits-a"]),
    ("sweep:lr", ["digits-b"]),  # a sweep's trials
    ("sweep:LR*", ["digits-b", "cifar-c"]),
    ("sweep:*", ["digits-b", "cifar-c"]),  # a run of no sweep never matches
    ("sweep:*wide status:running", ["cifar-c"]),
])
def test_query_forms(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("status", ["cancelled", "damaged", "not a run", "pending", "empty"])
def test_every_status_the_table_shows_is_a_known_status(status: str) -> None:
    query = parse(f'"status:{status}"')
    assert query.matches(run("a", status)) and not query.matches(run("b", "finished"))


@pytest.mark.parametrize("text, message", [
    ("val/acc>abc", "'val/acc>abc': 'abc' is not a number"),
    ("foo>3", "'foo>3': unknown field 'foo'"),
    ("colour:red", "'colour:red': unknown field 'colour'"),
    ("status:faild", "'status:faild': unknown status 'faild'"),
    ("started>2026-13-01", "'started>2026-13-01': '2026-13-01' is not a date"),
    ("digits val/acc>", "'val/acc>': no value after '>'"),
    (">3", "'>3': no field before '>'"),
    ("cfg.=3", "'cfg.=3': no key path after 'cfg.'"),
    ('"open', "filter '\"open': No closing quotation"),
])
def test_bad_queries_name_the_term(text: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    assert str(info.value).startswith(message)


PIECES = ["cfg.", LR, "status:", "tag:", "note:", "sweep:", "started", "epoch", "val/acc", "2026-11-01",
          "T09:30", "1e-3", "<", ">", "=", "!=", ">=", "*", "[", "]", "?", '"', "'", " ", "\\", "nan", "inf",
          "-"]


@settings(max_examples=1000, deadline=None)
@given(text=st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=12).map("".join))
def test_any_text_parses_or_raises_query_error(text: str) -> None:
    try:
        query = parse(text)
    except QueryError:
        return
    for row in ROWS:
        query.matches(row)  # and matching never raises either


def test_sort_orders() -> None:
    by = lambda order: [r.name for r in sort_rows(ROWS, order)]  # noqa: E731
    assert by(Order()) == ["digits-a", "digits-b", "cifar-c", "notes"]  # newest first, no start last
    assert by(Order("name", False)) == ["cifar-c", "digits-a", "digits-b", "notes"]
    assert by(Order("epoch", False)) == ["digits-b", "digits-a", "cifar-c", "notes"]  # missing last
    assert by(Order("epoch", True)) == ["digits-a", "digits-b", "cifar-c", "notes"]
    assert Order().then("started") == Order("started", False)
    assert Order().then("name") == Order("name", False)
    assert Order("name", False).then("name") == Order("name", True)


def test_flatten_and_tags() -> None:
    assert flatten({"a": {"b": [1, {"c": None}], "e": {}}, "f": []}) == {
        "a.b[0]": 1, "a.b[1].c": None, "a.e": {}, "f": []}
    assert parse_tags(" baseline, lr-sweep  baseline ") == (("baseline", "lr-sweep"), None)
    assert parse_tags("ok bad:tag") == ((), "tag 'bad:tag': use letters, digits and . _ + - only")


def test_every_key_the_diff_shows_filters_its_run(tmp_path: Path) -> None:
    """A key path copied from the diff screen, with its value as shown there, selects the run."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    row = run("r", cfg=read_config_values(tmp_path))
    keys = [d.key for d in diff_configs(CONFIG, CONFIG)]
    assert "train_wrapper.args.model_spec.args.hidden[1]" in keys and "callbacks[0].name" in keys
    for d in diff_configs(CONFIG, CONFIG):
        assert parse(shlex.quote(f"cfg.{d.key}={d.left}")).matches(row), d
