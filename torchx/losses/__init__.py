"""Losses. To add one: write a file here with `@register('name')`, then import it below."""

from torchx.losses import cross_entropy  # noqa: F401  (registers it)
from torchx.losses.tools import losses, make, register

__all__ = ["losses", "make", "register"]
