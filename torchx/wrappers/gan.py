"""`GanWrapper` (`name: gan`): a generator and a discriminator trained against each other.

Manual optimisation: per batch, `d_steps` discriminator updates (fresh noise each) and one generator
update. Lightning counts every optimizer step in `trainer.global_step`, so it advances by `d_steps + 1`
per batch; `optimizer_steps_per_batch` tells the events callback, whose `step` counts batches (generator
updates) for this wrapper as for the classifier. Every `sample_every_n_epochs` epochs (and at the end),
a grid from fixed noise goes to TensorBoard and to `<run>/samples/epoch-<N>.png` (N epochs done).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torchvision.utils import make_grid, save_image

from torchx import losses, models
from torchx.losses.gan import GanLoss
from torchx.optim import build_optimizer, build_scheduler
from torchx.registry import RegistryError, require_positive
from torchx.wrappers.tools import register

SAMPLES_DIR = "samples"
SAMPLE_PIXELS = 32  # samples are enlarged (nearest) to at least this size, so 8×8 digits are visible


@register("gan")
class GanWrapper(pl.LightningModule):
    spec_kinds: Mapping[str, str] = {
        "g_model_spec": "models", "d_model_spec": "models", "loss_spec": "losses",
        "g_optim_spec": "optim", "d_optim_spec": "optim", "g_sched_spec": "sched", "d_sched_spec": "sched",
    }
    optimizer_names = ("g", "d")  # metric suffixes of per-optimizer callbacks (lr_monitor, grad_norm)

    def __init__(self, g_model_spec: dict[str, Any], d_model_spec: dict[str, Any], loss_spec: dict[str, Any],
                 g_optim_spec: dict[str, Any], d_optim_spec: dict[str, Any],
                 g_sched_spec: dict[str, Any] | None = None, d_sched_spec: dict[str, Any] | None = None,
                 d_steps: int = 1, sample_every_n_epochs: int = 5, num_samples: int = 100) -> None:
        super().__init__()
        self.save_hyperparameters()  # the specs travel in every checkpoint, so a run can be rebuilt
        self.automatic_optimization = False
        self.generator = models.make(g_model_spec)
        self.discriminator = models.make(d_model_spec)
        self.check_args(self.hparams)
        self.loss_fn = losses.make(loss_spec)
        self.d_steps, self.sample_every_n_epochs = d_steps, sample_every_n_epochs
        self.num_classes: int = getattr(self.generator, "num_classes", 0)
        fixed = torch.Generator().manual_seed(0)  # the same noise every epoch and run: grids compare
        noise = torch.randn(num_samples, self.generator.latent_dim, generator=fixed)
        self.register_buffer("sample_noise", noise, persistent=False)
        self.register_buffer("sample_labels", self._grid_labels(num_samples), persistent=False)

    @staticmethod
    def check_args(args: Mapping[str, Any]) -> None:
        """What annotations cannot say: the loss must be a GAN loss, the counts positive."""
        require_positive(args, "d_steps", "sample_every_n_epochs", "num_samples")
        name = args["loss_spec"]["name"]
        try:
            loss = losses.losses.get(name)
        except RegistryError:
            return  # an unknown name: the loss_spec's own check names it
        if not (isinstance(loss, type) and issubclass(loss, GanLoss)):
            raise RegistryError(f"loss_spec '{name}' is not a GAN loss (e.g. gan_bce, gan_hinge)", key="args")

    @property
    def optimizer_steps_per_batch(self) -> int:
        return self.d_steps + 1

    def _grid_labels(self, n: int) -> torch.Tensor | None:
        """Conditional grids show one class per column (rows of `num_classes`)."""
        return torch.arange(n) % self.num_classes if self.num_classes else None

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generated images for noise `z` (and class labels, for a conditional generator)."""
        return self.generator(z, labels) if self.num_classes else self.generator(z)

    def _discriminate(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator(images, labels) if self.num_classes else self.discriminator(images)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.generator.latent_dim, device=self.device)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real, labels = batch if isinstance(batch, (list, tuple)) else (batch, None)
        labels = labels if self.num_classes else None
        optimizers = self.optimizers()
        assert isinstance(optimizers, list)  # configure_optimizers returns two
        opt_g, opt_d = optimizers
        with self.toggled_optimizer(opt_d):
            for _ in range(self.d_steps):
                fake = self(self._noise(len(real)), labels).detach()
                real_logits, fake_logits = self._discriminate(real, labels), self._discriminate(fake, labels)
                d_loss = self.loss_fn.d_loss(real_logits, fake_logits)
                opt_d.zero_grad(set_to_none=True)
                self.manual_backward(d_loss)
                opt_d.step()
        with self.toggled_optimizer(opt_g):
            g_loss = self.loss_fn.g_loss(self._discriminate(self(self._noise(len(real)), labels), labels))
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(g_loss)
            opt_g.step()
        self.log_dict({"train/g_loss": g_loss, "train/d_loss": d_loss,
                       "train/d_real": torch.sigmoid(real_logits.detach()).mean(),
                       "train/d_fake": torch.sigmoid(fake_logits.detach()).mean()},
                      on_step=True, on_epoch=True, sync_dist=True, batch_size=len(real))

    def on_train_epoch_end(self) -> None:
        schedulers = self.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            if scheduler is not None:
                scheduler.step()
        done = self.current_epoch + 1
        last = done == self.trainer.max_epochs or self.trainer.should_stop
        if last or done % self.sample_every_n_epochs == 0:
            self.write_samples(done)

    @torch.no_grad()
    def sample_grid(self) -> torch.Tensor:
        """A (C, H, W) grid generated from the fixed noise, one column per class if conditional."""
        was_training = self.generator.training
        self.generator.eval()
        images = self(self.sample_noise, self.sample_labels)
        self.generator.train(was_training)
        scale = max(1, SAMPLE_PIXELS // images.shape[-1])
        images = F.interpolate(images, scale_factor=scale, mode="nearest")
        return make_grid(images, nrow=self.num_classes or 10, padding=2, pad_value=0.5)

    def write_samples(self, epochs_done: int) -> Path | None:
        """Write the grid to TensorBoard and `samples/epoch-<N>.png` (rank 0 only); return the PNG path."""
        if not self.trainer.is_global_zero:
            return None
        grid = self.sample_grid()
        path = Path(self.trainer.default_root_dir) / SAMPLES_DIR / f"epoch-{epochs_done}.png"
        path.parent.mkdir(exist_ok=True)
        save_image(grid, path)
        add_image = getattr(getattr(self.logger, "experiment", None), "add_image", None)
        if add_image is not None:  # TensorBoard's SummaryWriter
            add_image("samples", grid, global_step=epochs_done)
        return path

    def configure_optimizers(self) -> Any:
        specs = self.hparams
        optimizers = [build_optimizer(specs["g_optim_spec"], self.generator.parameters()),
                      build_optimizer(specs["d_optim_spec"], self.discriminator.parameters())]
        schedulers = [build_scheduler(specs["g_sched_spec"], optimizers[0]),
                      build_scheduler(specs["d_sched_spec"], optimizers[1])]
        return optimizers, [s for s in schedulers if s is not None]
