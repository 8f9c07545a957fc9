"""`torchx.reading`: only regular files, never blocking, never more than the cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from torchx.reading import NotRegularFile, read_regular, read_regular_text


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("héllo", encoding="utf-8")
    assert read_regular_text(tmp_path / "f") == "héllo"


@pytest.mark.parametrize("kind", ["fifo", "directory", "device link"])
def test_anything_else_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x"
    if kind == "fifo":
        os.mkfifo(path)  # no writer: a plain open would block forever
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")  # a plain read never ends
    with pytest.raises(NotRegularFile, match="not a regular file"):
        read_regular(path)


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 101)
    assert read_regular(tmp_path / "big", 101) == b"x" * 101
    with pytest.raises(NotRegularFile, match="larger than 100 bytes"):
        read_regular(tmp_path / "big", 100)
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing")
