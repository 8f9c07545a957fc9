"""Callbacks a config can list. To add one: a file here with `@register('name')`, imported below."""

from torchx.callbacks import early_stopping, grad_norm, lr_monitor  # noqa: F401  (registers them)
from torchx.callbacks.tools import callbacks, make, register

__all__ = ["callbacks", "make", "register"]
