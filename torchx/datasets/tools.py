"""The dataset registry: each data module registers itself here by name."""

from torchx.registry import Registry

datasets = Registry("dataset")
register = datasets.register
make = datasets.make
