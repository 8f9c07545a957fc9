"""A sweep's space, one key a `--space`: what each key may take, and the points a launch check must see.

    lr=1e-3,3e-4,1e-4           choices (each typed as the config would type it: a number when it reads
                                as one, else the text as written)
    lr=loguniform(1e-5,1e-2)    a float between the bounds, uniform in its logarithm (0 < low < high)
    dropout=uniform(0,0.5)      a float between the bounds (low < high)
    layers=int(1,4)             an integer, both bounds included (low < high)

A bad key or value is a `SpaceError` of one line that names it. Only choices make a grid (`grid()`, the
product of every key's choices); `check_points` gives what the launch check validates before anything
is queued: every point of a grid, or else every key's choices and both its bounds, the other keys at
their first value. Pure and Optuna-free: the distributions are built from `Param` by `study`.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from torchx.config import safe_load

CHOICES, LOGUNIFORM, UNIFORM, INT = "choices", "loguniform", "uniform", "int"
FUNCTIONS = (LOGUNIFORM, UNIFORM, INT)
_KEY = re.compile(r"[A-Za-z_][\w\[\]-]*(\.[\w\[\]-]+)*")
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\((.*)\)\s*", re.S)
FORMS = "a,b,c (choices), loguniform(low,high), uniform(low,high) or int(low,high)"

Value = Any
"""A choice (int, float or str), or a value sampled from a range (float or int)."""


class SpaceError(ValueError):
    """A `--space` that cannot be used; its message is one line naming the key and the value."""


@dataclass(frozen=True)
class Param:
    """One key of the space: its choices, or its range."""

    key: str
    kind: str
    text: str
    """What followed `key=`, as written (kept in `sweep.json`: the space is parsed again from it)."""
    choices: tuple[Value, ...] = ()
    tokens: tuple[str, ...] = ()
    """Each choice as written: its override repeats the user's text (`1e-3`, not `0.001`)."""
    low: float = 0.0
    high: float = 0.0

    @property
    def log(self) -> bool:
        return self.kind == LOGUNIFORM

    def corners(self) -> tuple[Value, ...]:
        """The values a check must see: every choice, or both bounds."""
        if self.kind == CHOICES:
            return self.choices
        if self.kind == INT:
            return int(self.low), int(self.high)
        return self.low, self.high

    def value_text(self, value: Value) -> str:
        """How `value` is written in an override (a choice as the user wrote it)."""
        if self.kind == CHOICES:
            for choice, token in zip(self.choices, self.tokens, strict=True):
                if type(choice) is type(value) and choice == value:
                    return token
        if isinstance(value, float):
            return repr(value)
        return str(value)

    def override(self, value: Value) -> str:
        return f"{self.key}={self.value_text(value)}"


@dataclass(frozen=True)
class Space:
    params: tuple[Param, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.params)

    def is_grid(self) -> bool:
        """Whether every key is a list of choices (only then can a grid sampler run it)."""
        return all(p.kind == CHOICES for p in self.params)

    def grid_shape(self) -> tuple[int, ...]:
        return tuple(len(p.choices) for p in self.params if p.kind == CHOICES)

    def grid_size(self) -> int:
        return math.prod(self.grid_shape())

    def grid(self) -> list[dict[str, Value]]:
        """Every point of the grid, first key slowest."""
        return [dict(zip(self.keys, point, strict=True))
                for point in itertools.product(*(p.choices for p in self.params))]

    def check_points(self, grid: bool) -> list[dict[str, Value]]:
        """What the launch check validates: every point of a grid; else each key's corners (choices,
        bounds) with the other keys at their first corner, each distinct point once."""
        if grid:
            return self.grid()
        base = {p.key: p.corners()[0] for p in self.params}
        points = [base]
        for param in self.params:
            points += [{**base, param.key: value} for value in param.corners()[1:]]
        return points

    def overrides(self, values: dict[str, Value]) -> list[str]:
        """A trial's overrides, in the space's key order."""
        return [p.override(values[p.key]) for p in self.params if p.key in values]

    def record(self) -> dict[str, str]:
        """The space as `sweep.json` keeps it: each key's text."""
        return {p.key: p.text for p in self.params}


def parse_space(texts: Iterable[str]) -> Space:
    """One `Param` per `key=value` text; SpaceError for the first bad one, or a key given twice."""
    params: list[Param] = []
    for text in texts:
        param = parse_param(text)
        if param.key in {p.key for p in params}:
            raise SpaceError(f"--space '{text}': key '{param.key}' is given twice")
        params.append(param)
    if not params:
        raise SpaceError(f"--space: a sweep needs at least one key=values ({FORMS})")
    return Space(tuple(params))


def space_from_record(record: Any) -> Space:
    """The space `sweep.json` keeps (`{key: text}`); SpaceError when it is not one."""
    if not isinstance(record, dict) or not all(isinstance(v, str) for v in record.values()):
        raise SpaceError("space: expected an object of key: text")
    return parse_space(f"{key}={text}" for key, text in record.items())


def parse_param(text: str) -> Param:
    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key:
        raise SpaceError(f"--space '{text}': expected key.path=values ({FORMS})")
    if not _KEY.fullmatch(key):
        raise SpaceError(f"--space '{text}': '{key}' is not a key path (such as optim.lr)")
    if not spec:
        raise SpaceError(f"--space '{text}': no values for '{key}' ({FORMS})")
    call = _CALL.fullmatch(spec)
    if call is None:
        return _choices(text, key, spec)
    function, args = call.group(1), call.group(2)
    if function not in FUNCTIONS:
        near = difflib.get_close_matches(function, FUNCTIONS, n=1)
        hint = f" (did you mean {near[0]}?)" if near else f" (one of {', '.join(FUNCTIONS)})"
        raise SpaceError(f"--space '{text}': unknown function '{function}'{hint}")
    return _range(text, key, spec, function, args)


def _choices(text: str, key: str, spec: str) -> Param:
    tokens = tuple(t.strip() for t in spec.split(","))
    if any(not t for t in tokens):
        raise SpaceError(f"--space '{text}': an empty choice for '{key}'")
    choices = tuple(_typed(t) for t in tokens)
    seen: list[Value] = []
    for token, choice in zip(tokens, choices, strict=True):
        if any(isinstance(s, str) is isinstance(choice, str) and s == choice for s in seen):  # 1 is 1.0
            raise SpaceError(f"--space '{text}': choice '{token}' of '{key}' is given twice")
        seen.append(choice)
    return Param(key, CHOICES, spec, choices=choices, tokens=tokens)


def _typed(token: str) -> Value:
    """A number when the config would read `token` as one (`1e-3`, `64`), else the text itself."""
    try:
        value = safe_load(token)
    except Exception:  # any YAML error: it stays text
        return token
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return token
    return value if math.isfinite(value) else token


def _range(text: str, key: str, spec: str, function: str, args: str) -> Param:
    parts = [a.strip() for a in args.split(",")]
    if len(parts) != 2 or not all(parts):
        raise SpaceError(f"--space '{text}': {function} takes two bounds, {function}(low,high)")
    low, high = (_bound(text, function, p) for p in parts)
    if not low < high:
        raise SpaceError(f"--space '{text}': low {parts[0]} must be below high {parts[1]}")
    if function == LOGUNIFORM and low <= 0:
        raise SpaceError(f"--space '{text}': loguniform needs bounds above 0, got {parts[0]}")
    return Param(key, function, spec, low=low, high=high)


def _bound(text: str, function: str, part: str) -> float:
    try:
        value = int(part) if function == INT else float(part)
    except ValueError:
        kind = "an integer" if function == INT else "a number"
        raise SpaceError(f"--space '{text}': bound '{part}' is not {kind}") from None
    if not math.isfinite(value):
        raise SpaceError(f"--space '{text}': bound '{part}' is not a finite number")
    return float(value)
