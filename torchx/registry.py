"""One registry class for every kind of registered thing (datasets, models, losses, wrappers, callbacks).

`register(name)` fills a dict; `make(spec)` builds from `{name, args, sd}`. Errors name the kind, the
class and the argument, and an unknown name lists the known ones with the closest match.
"""

from __future__ import annotations

import copy
import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from torchx.errors import UserError

T = TypeVar("T")


class RegistryError(UserError):
    """A spec names something unknown or passes arguments its class does not take."""


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
            close = difflib.get_close_matches(str(name), self._classes, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise RegistryError(
                f"unknown {self.kind} '{name}'{hint}; known: {', '.join(self.names()) or 'none'}"
            )
        return self._classes[name]

    def check(self, spec: Mapping[str, Any], args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Resolve the class and bind the arguments without building anything; return the arguments."""
        if not isinstance(spec, Mapping) or "name" not in spec:
            raise RegistryError(f"a {self.kind} spec must be a mapping with a 'name' key, got {spec!r}")
        cls = self.get(spec["name"])
        spec_args = spec.get("args") or {}
        if not isinstance(spec_args, Mapping):
            raise RegistryError(f"{self.kind} '{spec['name']}': 'args' must be a mapping, got {spec_args!r}")
        merged = {**copy.deepcopy(dict(spec_args)), **(args or {})}
        accepted = _parameters(cls)
        where = f"{self.kind} '{spec['name']}' ({_where(cls)})"
        if not _takes_var_keyword(cls):
            for key in merged:
                if key not in accepted:
                    close = difflib.get_close_matches(str(key), accepted, n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise RegistryError(f"{where}: unexpected argument '{key}'{hint}; "
                                        f"accepts: {', '.join(accepted)}")
        try:
            inspect.signature(cls).bind(**merged)
        except TypeError as exc:
            raise RegistryError(f"{where}: {exc}; accepts: {', '.join(accepted)}") from None
        return merged

    def make(self, spec: Mapping[str, Any], args: Mapping[str, Any] | None = None,
             load_sd: bool = False) -> Any:
        """Build `spec['name']` with `spec['args']` updated by `args`; the spec itself is not changed."""
        merged = self.check(spec, args)
        obj = self.get(spec["name"])(**merged)
        if load_sd:
            obj.load_state_dict(spec["sd"])
        return obj


def _where(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _takes_var_keyword(cls: Callable[..., Any]) -> bool:
    try:
        return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return True


def _parameters(cls: Callable[..., Any]) -> list[str]:
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
