"""`torchx-tui [--save-dir save] [--configs-dir configs]` (also `python -m tui`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="torchx-tui", description="Launch and follow torchx runs.")
    parser.add_argument("--save-dir", type=Path, default=Path("save"), help="experiment directories")
    parser.add_argument("--configs-dir", type=Path, default=Path("configs"), help="configs to offer")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from tui.app import TorchxApp
    from tui.settings import Settings

    TorchxApp(Settings(save_dir=args.save_dir, configs_dir=args.configs_dir)).run()


if __name__ == "__main__":
    main()
