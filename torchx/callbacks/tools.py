"""The callback registry: Lightning `Callback`s a config can list under `callbacks:`."""

from torchx.registry import Registry

callbacks = Registry("callback")
register = callbacks.register
make = callbacks.make
