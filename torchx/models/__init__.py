"""Models. To add one: write a file here with `@register('name')`, then import it below."""

from torchx.models import cnn, gan_nets, mlp, resnet  # noqa: F401  (registers them)
from torchx.models.tools import make, models, register

__all__ = ["make", "models", "register"]
