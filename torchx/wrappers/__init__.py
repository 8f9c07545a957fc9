"""Training wrappers (LightningModules). To add one: a file here with `@register('name')`, imported below."""

from torchx.wrappers import base, gan  # noqa: F401  (registers them)
from torchx.wrappers.base import BaseWrapper
from torchx.wrappers.tools import make, register, wrappers

__all__ = ["BaseWrapper", "make", "register", "wrappers"]
