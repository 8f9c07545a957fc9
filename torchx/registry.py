"""One registry class for every kind of registered thing (datasets, models, losses, wrappers, callbacks).

`register(name)` fills a dict; `make(spec)` builds from `{name, args, sd}`. Errors name the kind, the
class and the argument, and an unknown name lists the known ones with the closest match.

`check_arguments` is the one argument check of the framework — a spec's arguments against its class,
`trainer_params` against `pl.Trainer`, `checkpoint` against `ModelCheckpoint`, an optimizer's against its
`torch.optim` class: unknown names (with a did-you-mean), a bind against the signature, and each YAML
value against its annotation (`hidden: abc` where `list[int]` is declared is refused before anything is
built). `**kwargs` forwarded to a base class (`Digits(**loader_args)` → `DataModule`) are followed.
A class may add `check_args(args)`, raising `ArgError` for values no annotation expresses (ranges).
"""

from __future__ import annotations

import copy
import difflib
import inspect
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from torchx.errors import UserError

T = TypeVar("T")


SHOWN_CHARS = 100


def shown(value: Any) -> str:
    """`repr(value)` in at most `SHOWN_CHARS` characters, its middle cut (a path's end stays readable):
    a message names a value, it does not dump one."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        return f"<an integer of {value.bit_length():,} bits>"
    half = (SHOWN_CHARS - 1) // 2
    return text if len(text) <= SHOWN_CHARS else f"{text[:half]}…{text[-half:]}"


class RegistryError(UserError):
    """A spec names something unknown or passes arguments its class does not take.

    `key` is where in the spec the problem lies (`args.lr`, `args.hidden`), None for the spec itself.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class ArgError(RegistryError):
    """One argument's value is unusable: the message is `<value>: <why>`, the key `args.<arg>`."""

    def __init__(self, arg: str, value: Any, why: str) -> None:
        super().__init__(f"{shown(value)}: {why}", key=f"args.{arg}")


class Registry:
    """Name → class for one kind; classes register themselves with a decorator."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(cls: T) -> T:
            previous = self._classes.get(name)
            if previous is not None and previous is not cls:
                raise RegistryError(
                    f"{self.kind} name '{name}' is registered twice: by {_where(previous)} "
                    f"and by {_where(cls)}"
                )
            self._classes[name] = cls  # type: ignore[assignment]
            return cls
        return decorator

    def names(self) -> list[str]:
        return sorted(self._classes)

    def get(self, name: Any) -> Callable[..., Any]:
        if not isinstance(name, str) or name not in self._classes:
            raise RegistryError(f"unknown {self.kind} '{name}'{_did_you_mean(str(name), self._classes)}; "
                                f"known: {', '.join(self.names()) or 'none'}")
        return self._classes[name]

    def check(self, spec: Mapping[str, Any], args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Resolve the class and check the arguments without building anything; return the arguments."""
        if not isinstance(spec, Mapping) or "name" not in spec:
            raise RegistryError(f"a {self.kind} spec must be a mapping with a 'name' key, got {shown(spec)}")
        cls = self.get(spec["name"])
        spec_args = spec.get("args") or {}
        if not isinstance(spec_args, Mapping):
            raise RegistryError(f"{self.kind} '{spec['name']}': 'args' must be a mapping, got "
                                f"{shown(spec_args)}", key="args")
        merged = {**copy.deepcopy(dict(spec_args)), **(args or {})}
        check_arguments(cls, merged, f"{self.kind} '{spec['name']}' ({_where(cls)})")
        check_args = getattr(cls, "check_args", None)
        if check_args is not None:
            check_args(merged)
        return merged

    def make(self, spec: Mapping[str, Any], args: Mapping[str, Any] | None = None,
             load_sd: bool = False) -> Any:
        """Build `spec['name']` with `spec['args']` updated by `args`; the spec itself is not changed."""
        merged = self.check(spec, args)
        obj = self.get(spec["name"])(**merged)
        if load_sd:
            obj.load_state_dict(spec["sd"])
        return obj


def require(args: Mapping[str, Any], arg: str, ok: Callable[[Any], bool], why: str) -> None:
    """For a class's `check_args`: ArgError naming `arg` when it is given and `ok(value)` is false."""
    if arg in args and not ok(args[arg]):
        raise ArgError(arg, args[arg], why)


def require_positive(args: Mapping[str, Any], *names: str) -> None:
    """Each of `names` that is given must be a positive integer, or a list of them (layer widths)."""
    for name in names:
        many = isinstance(args.get(name), list)
        require(args, name, lambda v: all(map(_is_positive, v if isinstance(v, list) else [v])),
                "must be a list of positive integers" if many else "must be a positive integer")


def _is_positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_arguments(cls: Callable[..., Any], args: Mapping[str, Any], where: str,
                    positional: tuple[Any, ...] = (), prefix: str = "args.") -> None:
    """Raise RegistryError (key `<prefix><name>`) unless `cls(*positional, **args)` binds and every value
    matches its annotation; `positional` stands in for what the framework passes (an optimizer's
    parameters). The prefix is a spec's `args.`; a config section (`trainer_params`) has none."""
    hints, is_open = keyword_parameters(cls)
    skipped = _positional_names(cls, len(positional))
    accepted = [name for name in hints if name not in skipped]
    if not is_open:
        for key in args:
            if key not in hints:
                hint = _did_you_mean(str(key), accepted)
                raise RegistryError(f"{shown(args[key])}: {where}: unexpected argument '{key}'{hint}; "
                                    f"accepts: {', '.join(accepted)}", key=f"{prefix}{key}")
    try:
        inspect.signature(cls).bind(*positional, **args)
    except TypeError as exc:
        raise RegistryError(f"{where}: {exc}; accepts: {', '.join(accepted)}", key=prefix.rstrip(".") or None
                            ) from None
    except ValueError:  # no signature to bind against (a builtin): building it will tell
        return
    for key, value in args.items():
        why = type_problem(value, hints.get(key, _ANY))
        if why:
            raise RegistryError(f"{shown(value)}: {why}, for {where}", key=f"{prefix}{key}")


def type_problem(value: Any, hint: Any) -> str | None:
    """Why a YAML value does not fit a type annotation (`expected a list of integers`), else None.

    Annotations this cannot judge (a forward reference, a TypeVar, a callable) accept anything; a
    class YAML cannot produce (a Tensor, an Accelerator) is left out of the description.
    """
    verdict = _matches(value, hint)
    if verdict is False:
        return f"expected {_describe(hint)}"
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    return None


_ANY: Any = inspect.Parameter.empty
_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list",
          tuple: "a list", dict: "a mapping", type(None): "null"}
_PLURALS = {"an integer": "integers", "a number": "numbers", "a string": "strings",
            "true or false": "booleans"}


def _matches(value: Any, hint: Any) -> bool | None:
    """True / False, or None when the annotation cannot be judged (the value is then accepted)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is _ANY or hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    if origin is typing.Union or origin is types.UnionType:
        verdicts = [_matches(value, arg) for arg in args]
        return True if True in verdicts else None if None in verdicts else False
    if origin is typing.Literal:
        return any(value == arg and type(value) is type(arg) for arg in args)
    if _is_sequence(origin or hint):
        return _matches_items(value, origin or hint, args)
    if _is_mapping(origin or hint):
        return isinstance(value, Mapping) and (len(args) != 2 or all(
            _matches(v, args[1]) is not False for v in value.values()))
    if not isinstance(hint, type):
        return None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _matches_items(value: Any, container: type, args: tuple[Any, ...]) -> bool | None:
    """A YAML list against `list[X]`, `tuple[X, Y]`, `tuple[X, ...]`, `Sequence[X]`, `Iterable[X]`."""
    if not isinstance(value, (list, tuple)):
        return False if container in (list, tuple) else None
    if container is tuple and args and args[-1] is not Ellipsis:
        if len(args) != len(value):
            return False
        pairs = list(zip(value, args, strict=True))
    else:
        pairs = [(v, args[0]) for v in value] if args else []
    return all(_matches(v, hint) is not False for v, hint in pairs)


def _is_sequence(base: Any) -> bool:
    if not isinstance(base, type) or issubclass(base, (str, bytes, Mapping)):
        return False
    return base in (list, tuple) or (issubclass(base, Iterable) and base.__module__ == "collections.abc")


def _is_mapping(base: Any) -> bool:
    return isinstance(base, type) and issubclass(base, Mapping)


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        shown = [a for a in args if _yamlable(a)] or list(args)
        literals = [v for a in shown if typing.get_origin(a) is typing.Literal for v in typing.get_args(a)]
        words = [_describe(a) for a in shown if typing.get_origin(a) is not typing.Literal]
        choices = [_describe(typing.Literal[tuple(literals)])] if literals else []
        return " or ".join(dict.fromkeys(choices + words))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if _is_sequence(origin or hint):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"a list of {len(args)} ({', '.join(_describe(a) for a in args)})"
        word = _describe(args[0]) if args else ""
        return f"a list of {_PLURALS.get(word, word)}" if args else "a list"
    if _is_mapping(origin or hint):
        return "a mapping"
    if isinstance(hint, type) or hint is None:
        return _WORDS.get(hint if hint is not None else type(None), f"a {getattr(hint, '__name__', hint)}")
    return str(hint)


def _yamlable(hint: Any) -> bool:
    """Whether some YAML value could match `hint` (none can be a Tensor or an Accelerator)."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_yamlable(a) for a in typing.get_args(hint))
    base = origin or hint
    return not isinstance(base, type) or base in _WORDS or _is_sequence(base) or _is_mapping(base)


def keyword_parameters(cls: Callable[..., Any]) -> tuple[dict[str, Any], bool]:
    """({name: annotation} of `cls` and of the base `__init__`s its `**kwargs` reach, open): `open` when
    some `**kwargs` go where no signature tells what they may be (then any name may be fine)."""
    hints: dict[str, Any] = {}
    for init in _inits(cls):
        try:
            params = list(inspect.signature(init).parameters.values())
        except (TypeError, ValueError):
            return hints, True
        if isinstance(cls, type):
            params = params[1:]  # self
        resolved = _type_hints(init)
        for p in params:
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raw = _ANY if isinstance(p.annotation, str) else p.annotation
                hints.setdefault(p.name, resolved.get(p.name, raw))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return hints, False
    return hints, bool(_inits(cls))


def _inits(cls: Callable[..., Any]) -> list[Callable[..., Any]]:
    """Each class's own `__init__`, most derived first (the callable itself when it is no class)."""
    if not isinstance(cls, type):
        return [cls]
    inits = [vars(klass)["__init__"] for klass in cls.__mro__ if "__init__" in vars(klass)]
    return [i for i in inits if i is not object.__init__]


def _type_hints(function: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # an unresolvable forward reference: judge only what the signature resolved
        return {}


def _positional_names(cls: Callable[..., Any], count: int) -> set[str]:
    try:
        return set(list(inspect.signature(cls).parameters)[:count]) if count else set()
    except (TypeError, ValueError):
        return set()


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _where(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
