"""What each side may import: the TUI-facing modules stay torch-free, the plain entry Lightning-free, and
modules that need only a tag or a table (`torchx.formats`) import neither an entry nor the checker."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import DIGITS, REPO


def modules_after(code: str) -> set[str]:
    """The full names of the modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def loaded_after(code: str) -> set[str]:
    """The top-level packages loaded after running `code`."""
    return {name.split(".")[0] for name in modules_after(code)}


def test_contract_modules_import_neither_torch_nor_textual() -> None:
    loaded = loaded_after("import torchx.events, torchx.experiment, torchx.summary, torchx.config, "
                          "torchx.recorder, torchx.eta, torchx.stopping, torchx.formats")
    assert not loaded & {"torch", "textual", "pytorch_lightning", "lightning"}


def test_plain_entry_validates_and_builds_without_lightning() -> None:
    loaded = loaded_after(
        "from torchx.config import load_config\nfrom torchx.train import check_plain_config\n"
        f"check_plain_config(load_config('{DIGITS}'), '{DIGITS}')"
    )
    assert "torch" in loaded
    assert not loaded & {"pytorch_lightning", "lightning", "lightning_fabric"}


def test_loader_and_wrappers_import_no_entry_and_no_checker() -> None:
    loaded = modules_after("import torchx.loading, torchx.wrappers")
    assert "torchx.formats" in loaded
    assert not loaded & {"torchx.train", "torchx.train_pl", "torchx.check", "torchx.evaluate"}
