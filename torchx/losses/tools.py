"""The loss registry: each loss module registers itself here by name."""

from torchx.registry import Registry

losses = Registry("loss")
register = losses.register
make = losses.make
