"""Experiment configs: YAML loading, `_base_` inheritance, dotted overrides and structural validation.

Torch-free, so the TUI can validate a config's shape in its own process. Every problem is a
`ConfigError` whose message names the file, the key path and the value (`x.yaml: trainer_params.
max_epochs: -1: must be a positive integer`). What the rules here cannot see (registry names, argument
types, the Trainer) is `torchx.check`'s.

Reading is bounded, since a config may be anything a user points at: only regular files of at most
`MAX_SMALL_FILE` bytes (a FIFO would block, `/dev/zero` never ends), and YAML aliases may expand to at
most `MAX_YAML_VALUES` values (a few hundred bytes of nested aliases otherwise grow to gigabytes).
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import yaml

from torchx.errors import UserError
from torchx.events import is_number
from torchx.reading import MAX_SMALL_FILE, NotRegularFile, read_regular_text
from torchx.registry import shown

SECTIONS = ("seed", "data_module", "train_wrapper", "trainer_params", "checkpoint", "callbacks")
REQUIRED = ("data_module", "train_wrapper")
BASE_KEY = "_base_"  # a path (relative to the file) or a list of paths whose configs this one extends
REPLACE_KEY = "_replace_"  # `_replace_: true` in a mapping: replace the base's mapping, do not merge
MAX_YAML_VALUES = 100_000  # scalars, lists and mappings of a document, its aliases expanded
MAX_YAML_DEPTH = 64  # lists and mappings within one another (a config nests about 5 deep)
MAX_INT = 2**63 - 1  # what torch and numpy can hold: a larger integer fails deep inside them
MAX_SEED = 2**32 - 1  # numpy's and Lightning's seed range


class ConfigError(UserError):
    """A config file, key or override that cannot be used."""


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader (libyaml's when installed: ~8x faster on the TUI's 10,000 first reads) that also
    reads `1e-3` as a float (YAML 1.2), as researchers write learning rates."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


class YamlTooLarge(yaml.YAMLError):
    """A document past `MAX_YAML_VALUES` values (aliases expanded) or `MAX_YAML_DEPTH` levels, or whose
    alias refers to itself."""


def safe_load(text: str | IO[str]) -> Any:
    """`yaml.safe_load` with `1e-3` as a float, bounded: the one YAML reader of configs and run files.

    The node graph is composed first (an alias is a reference there, so it stays as small as the text)
    and measured before anything is built: YamlTooLarge past `MAX_YAML_VALUES` values (aliases
    expanded) or `MAX_YAML_DEPTH` levels. A value no constructor can build (an integer of 5,000 digits,
    the 13th month) is a YAML error too, as malformed text is.
    """
    if not isinstance(text, str):
        text = text.read()
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node)
        return loader.construct_document(node)
    except RecursionError:  # the pure-Python composer, on nesting libyaml would refuse
        raise YamlTooLarge(f"nested deeper than {MAX_YAML_DEPTH} levels") from None
    except (ValueError, OverflowError) as exc:
        raise yaml.constructor.ConstructorError(problem=f"unreadable value ({exc})") from None
    finally:
        loader.dispose()


def _measure(root: yaml.Node) -> None:
    """YamlTooLarge unless `root`, aliases expanded, holds at most `MAX_YAML_VALUES` values nested at
    most `MAX_YAML_DEPTH` deep; each node is visited once, so an alias bomb costs as little as its text."""
    measured: dict[int, tuple[int, int]] = {}  # node → (values, height)
    open_nodes: set[int] = set()

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in open_nodes:
            raise YamlTooLarge("an alias refers to the value that contains it")
        if key not in measured:
            if depth > MAX_YAML_DEPTH:
                raise YamlTooLarge(f"nested deeper than {MAX_YAML_DEPTH} levels")
            open_nodes.add(key)
            parts = [measure(child, depth + 1) for child in _children(node)]
            open_nodes.discard(key)
            measured[key] = (1 + sum(p[0] for p in parts), 1 + max((p[1] for p in parts), default=0))
        values, height = measured[key]
        if values > MAX_YAML_VALUES:
            raise YamlTooLarge(f"its aliases expand to more than {MAX_YAML_VALUES:,} values")
        if depth + height > MAX_YAML_DEPTH + 1:
            raise YamlTooLarge(f"nested deeper than {MAX_YAML_DEPTH} levels")
        return values, height

    measure(root, 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Parse one YAML file (a regular file of at most `MAX_SMALL_FILE` bytes) with `safe_load`; it must
    hold a mapping."""
    path = Path(path)
    try:
        text = read_regular_text(path, MAX_SMALL_FILE)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except NotRegularFile as exc:
        raise ConfigError(f"{path}: {str(exc).removeprefix(f'{path}: ')}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    try:
        data = safe_load(text)
    except YamlTooLarge as exc:
        raise ConfigError(f"{path}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b.c=value` → (['a', 'b', 'c'], YAML-typed value)."""
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise ConfigError(f"override '{text}': expected key.path=value")
    try:
        value = safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        why = f" ({exc})" if isinstance(exc, YamlTooLarge) else ""
        raise ConfigError(f"override '{text}': value '{raw}' is not valid YAML{why}") from None
    return [p.strip() for p in parts], value


def apply_overrides(config: dict[str, Any], overrides: list[str], source: str) -> dict[str, Any]:
    """Return a copy of `config` with each dotted override set (intermediate mappings created)."""
    result = copy.deepcopy(config)
    for text in overrides:
        path, value = parse_override(text)
        if path[0] not in SECTIONS:
            raise ConfigError(
                f"{source}: override '{text}': unknown top-level key '{path[0]}' "
                f"(known: {', '.join(SECTIONS)})"
            )
        node: Any = result
        for i, part in enumerate(path[:-1]):
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict):
                where = ".".join(path[: i + 1])
                raise ConfigError(f"{source}: override '{text}': '{where}' is not a mapping")
        node[path[-1]] = value
    return result


def load_config(path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Load, merge bases, override and validate; the result is what a run writes as `config.yaml`."""
    config = apply_overrides(resolve_bases(path), overrides or [], str(path))
    validate_structure(config, str(path))
    return config


def resolve_bases(path: str | Path) -> dict[str, Any]:
    """A config with its `_base_` chain merged in (see `merge`); `_replace_` markers are consumed."""
    return _strip_replace(_resolve(Path(path), (), []))


def config_files(path: str | Path) -> list[Path]:
    """The config and every file its `_base_` chain reads, each once: what a run snapshots."""
    files: list[Path] = []
    _resolve(Path(path), (), files)
    return files


def _resolve(path: Path, chain: tuple[Path, ...], files: list[Path]) -> dict[str, Any]:
    data = load_yaml(path)
    if path not in files:
        files.append(path)
    merged: dict[str, Any] = {}
    for base in _base_paths(path, data):
        if base.resolve() in [p.resolve() for p in (*chain, path)]:
            cycle = " -> ".join(str(p) for p in (*chain, path, base))
            raise ConfigError(f"{path}: {BASE_KEY}: cycle {cycle}")
        merged = merge(merged, _resolve(base, (*chain, path), files))
    data.pop(BASE_KEY, None)
    return merge(merged, data)


def _base_paths(path: Path, data: Mapping[str, Any]) -> list[Path]:
    """The bases `data` names, relative to its file, checked to exist."""
    bases = data.get(BASE_KEY)
    if bases is None:
        return []
    names = bases if isinstance(bases, list) else [bases]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{path}: {BASE_KEY}: expected a path or a list of paths, got {shown(bases)}")
    result = []
    for name in names:
        base = Path(os.path.normpath(path.parent / name))
        if not base.is_file():
            raise ConfigError(f"{path}: {BASE_KEY}: {name} not found (looked for {base})")
        result.append(base)
    return result


def merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key, the child winning; anything else (lists too) is replaced whole.

    A child mapping holding `_replace_: true` replaces the base's mapping instead of merging into it.
    """
    result = copy.deepcopy(dict(base))
    for key, value in child.items():
        old = result.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping) and not value.get(REPLACE_KEY):
            result[key] = merge(old, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _strip_replace(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _strip_replace(v) for k, v in node.items() if k != REPLACE_KEY}
    if isinstance(node, list):
        return [_strip_replace(v) for v in node]
    return node


def validate_structure(config: Mapping[str, Any], source: str) -> None:
    """Check the shape every entry relies on; registry names are checked by `torchx.check`."""
    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    for key in config:
        if key not in SECTIONS:
            raise fail(str(key), f"unknown top-level key (known: {', '.join(SECTIONS)})")
    for key in REQUIRED:
        if key not in config:
            raise fail(key, "missing (required)")
    check_spec(config["data_module"], "data_module", source)
    check_spec(config["train_wrapper"], "train_wrapper", source)
    for key in ("trainer_params", "checkpoint"):
        if not isinstance(config.get(key) or {}, Mapping):
            raise fail(key, f"must be a mapping, got {shown(config[key])}")
    callbacks = config.get("callbacks") or []
    if not isinstance(callbacks, list):
        raise fail("callbacks", f"must be a list of specs, got {shown(callbacks)}")
    for i, spec in enumerate(callbacks):
        check_spec(spec, f"callbacks[{i}]", source)
    _check_values(config, fail)


def _check_values(config: Mapping[str, Any], fail: Callable[[str, str], ConfigError]) -> None:
    """The values every entry reads whose ranges no annotation states (torch-free: the TUI refuses them
    as the user types); argument types against signatures are `torchx.check`'s."""
    _check_numbers(config, "", fail)
    seed = config.get("seed")
    if seed is not None and not (_is_int(seed) and 0 <= seed <= MAX_SEED):
        raise fail("seed", f"{shown(seed)}: must be an integer from 0 to {MAX_SEED}")
    for section, rules in (("trainer_params", TRAINER_RULES), ("checkpoint", CHECKPOINT_RULES)):
        _check_rules(config.get(section) or {}, section, rules, fail)
    ckpt = config.get("checkpoint") or {}
    for key in ckpt:
        if key not in CHECKPOINT_KEYS and key not in CHECKPOINT_RULES:
            close = difflib.get_close_matches(str(key), CHECKPOINT_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise fail(f"checkpoint.{key}", f"{shown(ckpt[key])}: not an argument of ModelCheckpoint{hint}; "
                       f"accepts: {', '.join(CHECKPOINT_KEYS)}")


Rule = tuple[Callable[[Any], bool], str]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _inside_ckpt_dir(name: Any) -> bool:
    """A checkpoint file name that stays in the run's `ckpt/` (no absolute path, no `..` out of it)."""
    if not isinstance(name, str) or not name.strip():
        return False
    normal = os.path.normpath(name)
    return not os.path.isabs(name) and normal != ".." and not normal.startswith(f"..{os.sep}")


POSITIVE_INT: Rule = (lambda v: _is_int(v) and v >= 1, "must be a positive integer")
BATCH_LIMIT: Rule = (lambda v: v is None or (_is_int(v) and v >= 0) or (isinstance(v, float) and 0 <= v <= 1),
                     "must be a count (an integer ≥ 0) or a fraction from 0.0 to 1.0")
# Values both entries read, whose ranges no annotation states; types are checked against the Trainer's
# signature by `torchx.check` (the plain entry reads only these).
TRAINER_RULES: dict[str, Rule] = {
    "max_epochs": POSITIVE_INT,
    "log_every_n_steps": POSITIVE_INT,
    "check_val_every_n_epoch": (lambda v: v is None or (_is_int(v) and v >= 1), "must be a positive integer"),
    "accumulate_grad_batches": POSITIVE_INT,
    "num_nodes": POSITIVE_INT,
    "max_steps": (lambda v: _is_int(v) and v >= -1, "must be an integer ≥ -1 (-1: no limit)"),
    "gradient_clip_val": (lambda v: v is None or (is_number(v) and v >= 0), "must be a number ≥ 0"),
    "limit_train_batches": BATCH_LIMIT,
    "limit_val_batches": BATCH_LIMIT,
    "limit_test_batches": BATCH_LIMIT,
}
# ModelCheckpoint's arguments a config may set (`dirpath` is the run's `ckpt/`): the plain entry reads
# `monitor` and `mode`, the Lightning entry all of them (`torchx.check` checks their types).
CHECKPOINT_KEYS = ("filename", "monitor", "verbose", "save_last", "save_top_k", "save_on_exception",
                   "save_weights_only", "mode", "auto_insert_metric_name", "every_n_train_steps",
                   "train_time_interval", "every_n_epochs", "save_on_train_epoch_end",
                   "enable_version_counter")
CHECKPOINT_RULES: dict[str, Rule] = {
    "dirpath": (lambda v: False, "set by torchx: checkpoints go to the run's ckpt/ directory"),
    "filename": (_inside_ckpt_dir, "must be a file name inside the run's ckpt/ directory"),
    "mode": (lambda v: v in ("min", "max"), "must be 'min' or 'max'"),
    "monitor": (lambda v: v is None or isinstance(v, str), "must be a metric name such as val/loss"),
    "save_top_k": (lambda v: _is_int(v) and v >= -1, "must be an integer ≥ -1 (-1: keep every one)"),
}


def _check_rules(section: Mapping[str, Any], name: str, rules: Mapping[str, Rule],
                 fail: Callable[[str, str], ConfigError]) -> None:
    for key, value in section.items():
        rule = rules.get(key)
        if rule is not None and not rule[0](value):
            raise fail(f"{name}.{key}", f"{shown(value)}: {rule[1]}")


def _check_numbers(node: Any, path: str, fail: Callable[[str, str], ConfigError]) -> None:
    """No integer beyond 64 bits, no infinite or NaN float, anywhere in the config."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            _check_numbers(value, f"{path}.{key}" if path else str(key), fail)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_numbers(value, f"{path}[{i}]", fail)
    elif _is_int(node) and abs(node) > MAX_INT:
        raise fail(path, f"{shown(node)}: integer too large (at most {MAX_INT})")
    elif isinstance(node, float) and not math.isfinite(node):
        raise fail(path, f"{node!r}: not a finite number")


def check_spec(spec: Any, key: str, source: str) -> None:
    """A spec is `{name: str, args: mapping (optional), sd: ... (optional)}`."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{source}: {key}: must be a mapping with 'name' and 'args', got {shown(spec)}")
    if not isinstance(spec.get("name"), str) or not spec["name"]:
        raise ConfigError(f"{source}: {key}.name: missing or not a string")
    if not isinstance(spec.get("args") or {}, Mapping):
        raise ConfigError(f"{source}: {key}.args: must be a mapping, got {shown(spec['args'])}")
    unknown = set(spec) - {"name", "args", "sd"}
    if unknown:
        raise ConfigError(f"{source}: {key}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")


def dump_config(config: Mapping[str, Any]) -> str:
    """YAML text of a resolved config, keys in their original order."""
    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)
