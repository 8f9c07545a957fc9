"""Which runs the table shows, and in what order: the filter language and the sort orders.

A query is words separated by spaces; a run is shown when every word holds (AND):

- a free word matches names, notes and tags (case-insensitive substring): `digits`, `"lr sweep"`
- `field:glob` for status, config (the config's name), tag, name, note, sweep (the trials of a sweep):
  `status:failed`, `config:digits*`, `sweep:lr-*`
- `key OP value` with OP one of `> >= < <= = !=`:
  a metric (`val/acc>0.9`), a resolved-config key path (`cfg.trainer_params.max_epochs>=30`: numbers
  compare as numbers, anything else as text, `=`/`!=` with globs), `started` against a date
  (`started>2026-11-01`: a day is a whole day; `2026-11-01T14:30` a minute) or `epoch`.

`parse` raises `QueryError` naming the bad term, and nothing else. Torch- and Textual-free.
"""

from __future__ import annotations

import fnmatch
import operator
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tui.run.status import STATUSES
from tui.table.rows import RunRow

Predicate = Callable[[RunRow], bool]
GLOB_FIELDS = ("status", "config", "tag", "name", "note", "sweep")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, "!=": operator.ne, ">": operator.gt, "<": operator.lt,
    "=": operator.eq}
_TERM = re.compile(r"^([^<>=!:]+)(>=|<=|!=|>|<|=|:)(.*)$", re.DOTALL)
_HINT = ("use a word, status: config: tag: name: note: sweep:, cfg.<key.path>, a metric like val/acc, "
         "started, epoch")


class QueryError(ValueError):
    """A filter that cannot be understood; the message names the bad term."""


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[Predicate, ...] = ()
    uses_config: bool = False
    """Whether a term reads config keys (`cfg.`): the scanner then reads every run's config.yaml."""

    def matches(self, row: RunRow) -> bool:
        for term in self.terms:  # a plain loop: this runs 10,000 times per keystroke
            if not term(row):
                return False
        return True

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse(text: str) -> Query:
    """The query for `text` (empty: every run); raises QueryError."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise QueryError(f"filter {text.strip()!r}: {exc}") from None
    return Query(text, tuple(_term(word) for word in words if word),
                 uses_config=any(word.startswith("cfg.") for word in words))


def _term(word: str) -> Predicate:
    match = _TERM.match(word)
    if match is None:
        if word[0] in "<>=!:":
            raise QueryError(f"'{word}': no field before '{word[0]}' ({_HINT})")
        return _free_text(word.lower())
    key, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
    if not value:
        raise QueryError(f"'{word}': no value after '{op}'")
    if op == ":":
        return _glob_term(word, key.lower(), value)
    if key.startswith("cfg."):
        if len(key) == 4:
            raise QueryError(f"'{word}': no key path after 'cfg.'")
        return _config_term(key[4:], _OPS[op], value)
    if "/" in key:
        bound = _number(word, value)
        return lambda row: (v := row.metrics.get(key)) is not None and _OPS[op](v, bound)
    if key == "started":
        return _date_term(word, op, value)
    if key == "epoch":
        bound = _number(word, value)
        return lambda row: row.epoch is not None and _OPS[op](row.epoch, bound)
    raise QueryError(f"'{word}': unknown field '{key}' ({_HINT})")


def _free_text(needle: str) -> Predicate:
    def match(row: RunRow) -> bool:
        return (needle in row.name.lower() or needle in row.note.lower()
                or any(needle in tag.lower() for tag in row.tags))
    return match


def _glob(pattern: str) -> Callable[[str], bool]:
    """Case-insensitive glob, compiled once (a query runs over 10,000 rows per keystroke)."""
    regex = re.compile(fnmatch.translate(pattern.lower()))
    return lambda text: regex.match(text.lower()) is not None


def _glob_term(word: str, field: str, value: str) -> Predicate:
    if field not in GLOB_FIELDS:
        raise QueryError(f"'{word}': unknown field '{field}' ({_HINT})")
    if field == "status" and not any(c in value for c in "*?[") and value.lower() not in STATUSES:
        raise QueryError(f"'{word}': unknown status '{value}' (one of {', '.join(STATUSES)})")
    glob = _glob(value)
    if field == "tag":
        return lambda row: any(glob(tag) for tag in row.tags)
    if field == "note":
        contains = _glob(f"*{value}*")
        return lambda row: contains(row.note)
    if field == "sweep":
        return lambda row: bool(row.sweep) and glob(row.sweep)
    return lambda row: glob(getattr(row, field))


def _config_term(path: str, op: Callable[[Any, Any], bool], value: str) -> Predicate:
    bound, glob = _as_number(value), _glob(value)

    def match(row: RunRow) -> bool:
        if row.cfg is None or path not in row.cfg:
            return False
        have = row.cfg[path]
        number = None if isinstance(have, bool) else _as_number(have)
        if bound is not None and number is not None:
            return op(number, bound)
        text = _text(have)
        if op is operator.eq:
            return glob(text)
        if op is operator.ne:
            return not glob(text)
        return op(text, value)
    return match


def _date_term(word: str, op: str, value: str) -> Predicate:
    """A date is a span: `>D` after its end, `>=D` from its start, `=D` within it."""
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(f"'{word}': '{value}' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    if start.tzinfo is not None:
        raise QueryError(f"'{word}': give the date in local time, without a time zone")
    span = timedelta(days=1) if len(value) <= 10 else timedelta(minutes=1) if len(value) <= 16 \
        else timedelta(seconds=1)
    try:
        lo, hi = start.timestamp(), (start + span).timestamp()
    except (OverflowError, OSError, ValueError):
        raise QueryError(f"'{word}': date '{value}' is out of range") from None
    inside = {">": lambda t: t >= hi, ">=": lambda t: t >= lo, "<": lambda t: t < lo,
              "<=": lambda t: t < hi, "=": lambda t: lo <= t < hi, "!=": lambda t: not lo <= t < hi}[op]
    return lambda row: row.started is not None and inside(row.started)


def _number(word: str, value: str) -> float:
    number = _as_number(value)
    if number is None:
        raise QueryError(f"'{word}': '{value}' is not a number")
    return number


def _as_number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


# ---- sort orders ----

def _metric_value(row: RunRow) -> float | None:
    return row.metric[1] if row.metric else None


SORT_KEYS: dict[str, Callable[[RunRow], Any]] = {
    "name": lambda r: r.name, "status": lambda r: r.status, "config": lambda r: r.config,
    "epoch": lambda r: r.epoch, "ETA": lambda r: r.eta_s, "val": _metric_value, "GPUs": lambda r: r.gpus,
    "started": lambda r: r.started, "time": lambda r: r.elapsed_s,
}


@dataclass(frozen=True)
class Order:
    """A column and a direction; the default is newest first."""

    column: str = "started"
    descending: bool = True

    def then(self, column: str) -> Order:
        """Picking the same column again reverses it; another column starts ascending."""
        if column == self.column:
            return Order(column, not self.descending)
        return Order(column, False)

    def label(self) -> str:
        return f"{self.column} {'▼' if self.descending else '▲'}"


def sort_rows(rows: Iterable[RunRow], order: Order) -> list[RunRow]:
    """Rows in `order`, those without a value for its column last; ties stay newest first."""
    ordered = sorted(rows, key=lambda r: r.sort_key)
    if order == Order():
        return ordered  # `sort_key` is newest first
    key = SORT_KEYS[order.column]
    present = [r for r in ordered if key(r) is not None]
    present.sort(key=key, reverse=order.descending)
    return present + [r for r in ordered if key(r) is None]
