"""The model registry: each `nn.Module` registers itself here by name."""

from torchx.registry import Registry

models = Registry("model")
register = models.register
make = models.make
