"""The training-wrapper registry: each LightningModule wrapper registers itself here by name."""

from torchx.registry import Registry

wrappers = Registry("train_wrapper")
register = wrappers.register
make = wrappers.make
