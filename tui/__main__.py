"""`torchx-tui [--save-dir save] [--configs-dir configs]` (also `python -m tui`) starts the app;
`torchx-tui queue …` works the save dir's queue from a shell (`tui.queue.cli`, imported only then), and
`torchx-tui sweep …` its sweeps (`tui.queue.sweeps.cli`: the words after `sweep` are handed over as
they are, since a new sweep's overrides and the actions `list`, `show`, `extend`, `cancel` share them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

USAGE_EXIT = 2


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments are one line (`prog: error: …`) and exit status 2, like every refusal of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_EXIT, f"{self.prog}: error: {message}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(prog="torchx-tui", description="Launch and follow torchx runs.")
    parser.add_argument("--save-dir", type=Path, default=Path("save"), help="experiment directories")
    parser.add_argument("--configs-dir", type=Path, default=Path("configs"), help="configs to offer")
    commands = parser.add_subparsers(dest="command", metavar="{queue,sweep}")
    add_queue_parser(commands)
    sweep = commands.add_parser("sweep", help="sweeps: torchx-tui sweep --help", add_help=False,
                                prefix_chars="\0")  # every word goes to `words`, even --help
    sweep.add_argument("words", nargs=argparse.REMAINDER)
    return parser.parse_args(argv)


def add_queue_parser(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`queue [add|remove|move|pause|resume|limits]`; `--save-dir` is taken after any word too."""
    from tui.launch import slurm  # the app imports it too

    parser = commands.add_parser("queue", help="the queue of runs waiting for devices")
    _save_dir(parser)
    actions = parser.add_subparsers(dest="action", metavar="{add,remove,move,pause,resume,limits}")
    add = actions.add_parser("add", help="queue one run")
    _save_dir(add)
    add.add_argument("--config", type=Path, required=True)
    add.add_argument("--name", help="default: <config>-<date>-<time>")
    devices = add.add_mutually_exclusive_group()
    devices.add_argument("--gpus", type=int, default=0, metavar="K", help="GPUs it needs (any free ones)")
    devices.add_argument("--cpu-processes", type=int, default=1, metavar="N", help="CPU DDP processes")
    slurm.add_arguments(add)
    add.add_argument("overrides", nargs="*", metavar="key.path=value")
    remove = actions.add_parser("remove", help="take a run out of the queue (to the trash)")
    _save_dir(remove)
    remove.add_argument("name")
    move = actions.add_parser("move", help="move a run DELTA places (negative: forward)")
    _save_dir(move)
    move.add_argument("name")
    move.add_argument("delta", type=int)
    for action in ("pause", "resume"):
        _save_dir(actions.add_parser(action, help=f"{action} the whole queue"))
    limits = actions.add_parser("limits", help="show or set what the queue may use")
    _save_dir(limits)
    limits.add_argument("--cpu-slots", type=int, metavar="N", help="CPU processes at once (default: cores)")
    limits.add_argument("--gpu-mem-mib", type=int, metavar="M", help="a GPU using more memory is busy")
    limits.add_argument("--slurm-jobs", type=int, metavar="J", help="Slurm runs submitted at once")


def _save_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--save-dir", type=Path, default=argparse.SUPPRESS, help="experiment directories")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "queue":
        from tui.queue.cli import run

        sys.exit(run(args))
    if args.command == "sweep":
        from tui.queue.sweeps.cli import run as sweep

        sys.exit(sweep(args.words, args.save_dir))
    from tui.app import TorchxApp
    from tui.settings import Settings

    TorchxApp(Settings(save_dir=args.save_dir, configs_dir=args.configs_dir)).run()


if __name__ == "__main__":
    main()
