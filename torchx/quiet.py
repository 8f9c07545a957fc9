"""Silences the known, harmless third-party lines an entry would print on every run, and nothing else.

Each filter names the exact message, its category and the module that emits it, so a user's own warnings
and any new warning of a library still show. Installing the filters imports neither torch nor Lightning
(the plain entry never loads Lightning); every entry, and each DDP rank, calls `quiet_known_noise` first.
"""

from __future__ import annotations

import logging
import warnings

KNOWN_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # Lightning's SLURM environment warns on every start when an `srun` binary exists (Debian ships one),
    # even for a run that is not a Slurm job; our Slurm launches do start each rank with srun.
    (r"The `srun` command is available on your system but is not used", UserWarning,
     r"(lightning_fabric|lightning\.fabric)\.plugins\.environments\.slurm\Z"),
    # torch deprecated `LeafSpec`; Lightning's own pytree helper still builds one when it flattens a
    # batch. Lightning's code to change, not ours or the user's: training is unaffected.
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning,
     r"(pytorch_lightning|lightning\.pytorch)\.utilities\._pytree\Z"),
)

# An advertisement Lightning logs at every Trainer start when its cloud logger is not installed.
KNOWN_LOG_PREFIXES = ("💡 Tip: For seamless cloud logging",)
# `rank_zero_info` logs through whichever of these its last importer set up.
LIGHTNING_INFO_LOGGERS = ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero",
                          "lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class _KnownLogLines(logging.Filter):
    """Drops the log records that start with one of `KNOWN_LOG_PREFIXES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(KNOWN_LOG_PREFIXES))


_LOG_FILTER = _KnownLogLines()


def quiet_known_noise() -> None:
    """Install the filters (again is harmless: `warnings` and `logging` drop duplicates)."""
    for message, category, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    for name in LIGHTNING_INFO_LOGGERS:
        logging.getLogger(name).addFilter(_LOG_FILTER)
