"""Data modules. To add one: write a file here with `@register('name')`, then import it below."""

from torchx.datasets import digits, mnist  # noqa: F401  (registers them)
from torchx.datasets.base import DataModule
from torchx.datasets.tools import datasets, make, register

__all__ = ["DataModule", "datasets", "make", "register"]
