"""Tags and tables that say what the framework's own files and specs are; torch-free, imports nothing.

Kept apart from the modules that use them, so that reading a tag never imports what writes it: the
loader recognises a plain-entry checkpoint without importing that entry, and the `base` wrapper
declares its nested specs without importing the checker that validates them.
"""

from __future__ import annotations

from collections.abc import Mapping

# The `format` field of a checkpoint the plain entry (`torchx.train`) writes; Lightning's have none.
PLAIN_CKPT_FORMAT = "torchx-plain-1"

# How the `base` wrapper's arguments are validated: argument → 'models' | 'losses' | 'optim' | 'sched'.
BASE_SPEC_KINDS: Mapping[str, str] = {
    "model_spec": "models", "loss_spec": "losses", "optim_spec": "optim", "sched_spec": "sched",
}

# Trainer arguments the Lightning entry sets itself: a config that sets them is refused.
RESERVED_TRAINER_PARAMS = ("callbacks", "logger", "default_root_dir", "enable_checkpointing")
