"""Losses. To add one: write a file here with `@register('name')`, then import it below."""

from torchx.losses import cross_entropy, gan  # noqa: F401  (registers them)
from torchx.losses.tools import losses, make, register

__all__ = ["losses", "make", "register"]
