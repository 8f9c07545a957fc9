"""A sweep's space from its `--space` texts: every form, typed as the config types it; every bad input
one line naming the key and the value; the grid and the points a launch check sees."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.queue.sweeps.space import (
    CHOICES,
    INT,
    LOGUNIFORM,
    UNIFORM,
    SpaceError,
    parse_space,
    space_from_record,
)


def test_choices_are_numbers_when_they_read_as_numbers_else_text() -> None:
    space = parse_space(["optim.lr=1e-3, 3e-4,1e-4", "data.batch=32,64", "optim.name=AdamW,SGD",
                         "x.flag=true"])
    lr, batch, name, flag = space.params
    assert (lr.kind, lr.choices, lr.tokens) == (CHOICES, (1e-3, 3e-4, 1e-4), ("1e-3", "3e-4", "1e-4"))
    assert batch.choices == (32, 64) and all(type(c) is int for c in batch.choices)
    assert name.choices == ("AdamW", "SGD")
    assert flag.choices == ("true",)  # not a number: the text, which the config then reads as it will
    assert lr.override(3e-4) == "optim.lr=3e-4"  # as the user wrote it
    assert space.overrides({"optim.lr": 1e-4, "data.batch": 64}) == ["optim.lr=1e-4", "data.batch=64"]


@pytest.mark.parametrize(("text", "kind", "low", "high", "corners"), [
    ("a.lr=loguniform(1e-5,1e-2)", LOGUNIFORM, 1e-5, 1e-2, (1e-5, 1e-2)),
    ("a.p=uniform(0, 0.5)", UNIFORM, 0.0, 0.5, (0.0, 0.5)),
    ("a.n=int(1,4)", INT, 1.0, 4.0, (1, 4)),
    ("a.n=int(-3, 3)", INT, -3.0, 3.0, (-3, 3)),
])
def test_ranges(text: str, kind: str, low: float, high: float, corners: tuple) -> None:
    (param,) = parse_space([text]).params
    assert (param.kind, param.low, param.high, param.corners()) == (kind, low, high, corners)
    assert param.log is (kind == LOGUNIFORM)
    assert [type(c) for c in param.corners()] == [int, int] if kind == INT else True
    assert param.override(0.000123) == f"{param.key}=0.000123"


@pytest.mark.parametrize(("texts", "named"), [
    (["lr"], "'lr'"),
    (["=1,2"], "'=1,2'"),
    (["lr="], "'lr'"),
    (["a b=1"], "'a b'"),
    (["lr=1,,2"], "an empty choice"),
    (["lr=1,1.0"], "'1.0'"),
    (["lr=loguniform(1e-2,1e-5)"], "low 1e-2"),
    (["lr=loguniform(0,1)"], "above 0"),
    (["lr=uniform(1)"], "two bounds"),
    (["lr=uniform(a,1)"], "'a'"),
    (["lr=uniform(1,inf)"], "'inf'"),
    (["n=int(1.5,3)"], "'1.5'"),
    (["n=int(3,3)"], "low 3"),
    (["lr=logunifrom(1e-5,1e-2)"], "did you mean loguniform"),
    (["lr=1,2", "lr=3"], "given twice"),
    ([], "at least one"),
])
def test_bad_input_is_one_line_naming_it(texts: list[str], named: str) -> None:
    with pytest.raises(SpaceError) as caught:
        parse_space(texts)
    message = str(caught.value)
    assert "\n" not in message and named in message, message


def test_the_grid_is_the_product_of_the_choices() -> None:
    space = parse_space(["a.x=1,2,3", "a.y=p,q,r,s"])
    assert space.is_grid() and space.grid_shape() == (3, 4) and space.grid_size() == 12
    grid = space.grid()
    assert len(grid) == 12 and len({tuple(p.items()) for p in grid}) == 12
    assert grid[0] == {"a.x": 1, "a.y": "p"} and grid[-1] == {"a.x": 3, "a.y": "s"}
    assert space.check_points(grid=True) == grid


def test_a_continuous_space_is_checked_at_its_bounds_and_choices() -> None:
    space = parse_space(["a.lr=loguniform(1e-5,1e-2)", "a.n=int(1,4)", "a.k=x,y"])
    assert not space.is_grid()
    points = space.check_points(grid=False)
    assert points == [{"a.lr": 1e-5, "a.n": 1, "a.k": "x"}, {"a.lr": 1e-2, "a.n": 1, "a.k": "x"},
                      {"a.lr": 1e-5, "a.n": 4, "a.k": "x"}, {"a.lr": 1e-5, "a.n": 1, "a.k": "y"}]


def test_sweep_json_keeps_the_texts_and_reads_them_back() -> None:
    space = parse_space(["a.lr=loguniform(1e-5,1e-2)", "a.b=32,64"])
    assert space.record() == {"a.lr": "loguniform(1e-5,1e-2)", "a.b": "32,64"}
    assert space_from_record(space.record()) == space
    with pytest.raises(SpaceError):
        space_from_record({"a.lr": 3})


@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=6, unique=True))
def test_integer_choices_round_trip_through_their_overrides(values: list[int]) -> None:
    space = parse_space([f"a.b={','.join(map(str, values))}"])
    assert space.params[0].choices == tuple(values) and space.grid_size() == len(values)
    assert [space.params[0].override(v) for v in values] == [f"a.b={v}" for v in values]


@given(st.text(max_size=40))
def test_any_text_parses_or_is_one_line_refused(text: str) -> None:
    try:
        parse_space([text])
    except SpaceError as exc:
        assert "\n" not in str(exc).replace(text, "")
