"""Hostile config files are refused at once, in one line, by every reader of configs: the entries'
`load_yaml`, the YAML reader of run files (`safe_load`) and the launch dialog's structure check and
preview. Nothing here may block (a FIFO), read without end (`/dev/zero`) or grow (an alias bomb)."""

from __future__ import annotations

import os
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from torchx.config import MAX_YAML_VALUES, ConfigError, YamlTooLarge, load_yaml, safe_load
from torchx.reading import MAX_SMALL_FILE
from tui.launch import checks

BOMB = "".join([
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    *(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
])
MERGE_BOMB = "".join([
    "a: &a {x0: 0, x1: 1, x2: 2, x3: 3}\n",
    *(f"{n}: &{n} {{<<: [{', '.join([f'*{p}'] * 4)}], k{n}: 1}}\n" for p, n in zip("abcdefgh", "bcdefghi",
                                                                                     strict=True)),
])


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """`fn()`'s result or exception, failing if it takes longer than `seconds` (a hang)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"c.yaml: not a regular file \(a FIFO\)$"):
        within(120, lambda: load_yaml(fifo))
    verdict = within(120, lambda: checks.validate_structure(fifo, []))
    assert not verdict.ok and verdict.message == "c.yaml: not a regular file (a FIFO)"
    assert within(120, lambda: checks.read_preview(fifo)).startswith("# cannot read")


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "c.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match=r"c.yaml: not a regular file \(a device\)$"):
        within(120, lambda: load_yaml(link))


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "c.yaml"
    big.write_text("seed: 1\n" + "#" * MAX_SMALL_FILE)
    with pytest.raises(ConfigError, match=rf"c.yaml: larger than {MAX_SMALL_FILE:,} bytes$"):
        load_yaml(big)


@pytest.mark.parametrize("text", [BOMB, MERGE_BOMB], ids=["aliases", "merge keys"])
def test_an_alias_bomb_is_refused_before_it_grows(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    assert len(text) < 600
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match=rf"bomb.yaml: refused: its aliases expand to more than "
                                              rf"{MAX_YAML_VALUES:,} values$"):
            within(120, lambda: load_yaml(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20
    verdict = checks.validate_structure(path, [])
    assert not verdict.ok and "aliases expand" in verdict.message and "\n" not in verdict.message


@pytest.mark.parametrize(("text", "why"), [
    ("a: " + "[" * 600 + "]" * 600 + "\n", "refused: nested deeper than 64 levels"),
    ("seed: 1" + "0" * 5000 + "\n", "malformed YAML: unreadable value (Exceeds the limit (4300 digits)"),
    ("seed: 2024-13-45\n", "malformed YAML: unreadable value (month must be in 1..12)"),
], ids=["deep", "5000 digits", "13th month"])
def test_what_no_reader_could_build_is_refused_in_one_line(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value).startswith(f"{path}: {why}") and "\n" not in str(info.value)


def test_an_alias_to_itself_is_refused() -> None:
    with pytest.raises(YamlTooLarge, match="refers to the value that contains it"):
        safe_load("a: &a [1, *a]\n")


def test_ordinary_anchors_still_load(tmp_path: Path) -> None:
    text = "base: &b {lr: 1e-3, steps: [1, 2]}\nfirst: *b\nsecond: {<<: *b, lr: 2e-3}\n"
    assert safe_load(text) == {"base": {"lr": 1e-3, "steps": [1, 2]}, "first": {"lr": 1e-3, "steps": [1, 2]},
                               "second": {"lr": 2e-3, "steps": [1, 2]}}
    path = tmp_path / "anchors.yaml"
    path.write_text(text)
    with path.open(encoding="utf-8") as f:  # run files are read from streams too
        assert safe_load(f)["second"]["lr"] == 2e-3
