"""Plain-PyTorch entry: `python -m torchx.train --config C [--gpu 0|cpu] [--name N] [--resume N] [k=v ...]`.

The same config, directory and events as `torchx.train_pl`, with no Lightning: one device and one
readable loop. It runs the `base` wrapper's recipe (model, loss, optimizer, per-epoch scheduler);
other wrappers need the Lightning entry. A stop inside an epoch saves where it is (`Progress`); a resume
trains the rest of that epoch, in the same order (`torchx.resumable`), then goes on as if never stopped.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from torchx import datasets, losses, models
from torchx.check import check_config
from torchx.checkpoints import remove_stale, save_atomic
from torchx.config import ConfigError
from torchx.errors import UserError
from torchx.experiment import CKPT_DIR
from torchx.formats import PLAIN_CKPT_FORMAT
from torchx.metrics import accuracy
from torchx.optim import build_optimizer, build_scheduler
from torchx.quiet import quiet_known_noise
from torchx.recorder import RunRecorder
from torchx.report import epoch_line
from torchx.resumable import ResumableLoader, data_seed, resumable
from torchx.session import RunContext, build_parser, end_after_error, prepare, run_main, train_reported
from torchx.stopping import StopRequest

# trainer_params this loop honours; others (Lightning-only) are noted in log.txt and ignored.
PLAIN_TRAINER_PARAMS = {"max_epochs", "log_every_n_steps", "accelerator", "devices", "precision",
                        "gradient_clip_val", "limit_train_batches", "limit_val_batches"}
AUTOCAST = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def check_plain_config(config: Mapping[str, Any], source: str) -> None:
    """What the plain loop can run: the `base` recipe on one device, no Lightning callbacks."""
    if config["train_wrapper"]["name"] != "base":
        raise ConfigError(f"{source}: train_wrapper.name: the plain entry runs only the 'base' wrapper, not "
                          f"'{config['train_wrapper']['name']}' (use python -m torchx.train_pl)")
    if config.get("callbacks"):
        raise ConfigError(f"{source}: callbacks: Lightning callbacks need python -m torchx.train_pl")
    check_config(config, source, lightning=False)
    params = config.get("trainer_params") or {}
    if params.get("devices") not in (None, 1, "1", "auto") or params.get("num_nodes", 1) != 1:
        raise ConfigError(f"{source}: trainer_params.devices: the plain entry runs on one device "
                          "(use python -m torchx.train_pl for DDP)")
    precision = str(params.get("precision", "32"))
    if precision not in ("32", "32-true", *AUTOCAST):
        raise ConfigError(f"{source}: trainer_params.precision: {precision!r} is not one of 32, "
                          f"{', '.join(AUTOCAST)} in the plain entry")


def pick_device(ctx: RunContext) -> torch.device:
    if ctx.gpus and len(ctx.gpus) > 1:
        raise UserError(f"--gpu {','.join(map(str, ctx.gpus))}: the plain entry uses one device")
    if ctx.gpus:
        return torch.device("cuda", ctx.gpus[0])
    wanted = (ctx.config.get("trainer_params") or {}).get("accelerator", "auto")
    if ctx.gpus == [] or wanted == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", 0)


def limit(value: Any, total: int) -> int:
    """Lightning's `limit_*_batches` semantics: an int is a count, a float a fraction."""
    if value is None:
        return total
    return min(total, int(value)) if isinstance(value, int) else max(1, int(total * float(value)))


@torch.no_grad()
def evaluate(model: torch.nn.Module, loss_fn: torch.nn.Module, loader: Any, device: torch.device,
             max_batches: int, autocast: Any) -> dict[str, float]:
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    seen = 0
    for batch_idx, (x, y) in enumerate(loader):
        if batch_idx >= max_batches:
            break
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast():
            logits = model(x)
            loss_sum += loss_fn(logits, y).float() * len(y)
        correct += accuracy(logits, y) * len(y)
        seen += len(y)
    model.train()
    return {"val/loss": (loss_sum / max(seen, 1)).item(), "val/acc": (correct / max(seen, 1)).item()}


def train(ctx: RunContext, stop: StopRequest) -> int:
    cfg, params = ctx.config, dict(ctx.config.get("trainer_params") or {})
    recorder = RunRecorder(ctx.run_dir)
    try:
        return _train(ctx, stop, recorder, cfg, params)
    except BaseException as exc:
        return end_after_error(recorder, exc, stop)


def epoch_batches(loader: Any, epoch: int, first: int) -> Iterator[tuple[int, Any]]:
    """`epoch`'s (batch index, batch) pairs from batch `first` on: a resumed epoch skips what it trained."""
    if isinstance(loader, ResumableLoader):
        loader.set_epoch(epoch)
        loader.resume_at(epoch, first)
        return enumerate(loader, first)
    return enumerate(itertools.islice(loader, first, None), first)  # an order of its own: skipped by loading


@dataclass
class Progress:
    """Where training goes on: batch `batch` of epoch `epoch` (0: its start) after `step` steps, with the
    loss sum and sample count of that epoch's trained batches (for its mean) and the best monitored value."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    best: float | None = None
    epoch_loss: tuple[float, int] = (0.0, 0)


def restore(path: Any, device: torch.device, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            scheduler: Any) -> Progress:
    """Load a plain-entry checkpoint into the objects; return where it goes on."""
    state = torch.load(path, map_location=device, weights_only=False)
    if state.get("format") != PLAIN_CKPT_FORMAT:
        raise UserError(f"{path}: not a checkpoint of the plain entry "
                        "(resume this run with python -m torchx.train_pl)")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler"):
        scheduler.load_state_dict(state["scheduler"])
    return Progress(state["epoch"], state.get("batch", 0), state["global_step"], state.get("best"),
                    tuple(state.get("epoch_loss", (0.0, 0))))


def _train(ctx: RunContext, stop: StopRequest, recorder: RunRecorder, cfg: dict[str, Any],
           params: dict[str, Any]) -> int:
    if cfg.get("seed") is not None:
        torch.manual_seed(cfg["seed"])
    device = pick_device(ctx)
    wrapper_args = cfg["train_wrapper"]["args"]
    data = datasets.make(cfg["data_module"])
    model = models.make(wrapper_args["model_spec"]).to(device)
    loss_fn = losses.make(wrapper_args["loss_spec"]).to(device)
    optimizer = build_optimizer(wrapper_args["optim_spec"], model.parameters())
    scheduler = build_scheduler(wrapper_args.get("sched_spec"), optimizer)
    dtype = AUTOCAST.get(str(params.get("precision", "32")))
    autocast = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else contextlib.nullcontext
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
    max_epochs, log_every = int(params.get("max_epochs", 1000)), int(params.get("log_every_n_steps", 50))
    clip = params.get("gradient_clip_val")
    monitor = (cfg.get("checkpoint") or {}).get("monitor")
    mode_max = (cfg.get("checkpoint") or {}).get("mode", "min") == "max"
    best_ckpt = ctx.run_dir / CKPT_DIR / "best.ckpt"

    resumed = Progress()
    if ctx.resume_ckpt is not None:
        resumed = restore(ctx.resume_ckpt, device, model, optimizer, scheduler)
        remove_stale(ctx.run_dir / CKPT_DIR, keep=[ctx.last_ckpt, best_ckpt])
    start_epoch, step, best = resumed.epoch, resumed.step, resumed.best

    train_loader = resumable(data.train_dataloader(), data_seed(cfg, ctx.name))
    val_loader = data.val_dataloader()
    train_batches = limit(params.get("limit_train_batches"), len(train_loader))
    val_batches = limit(params.get("limit_val_batches"), len(val_loader))
    ignored = sorted(set(params) - PLAIN_TRAINER_PARAMS)
    recorder.start(**ctx.run_info(), world_size=1,
                   devices=[device.index or 0] if device.type == "cuda" else "cpu",
                   max_epochs=max_epochs, steps_per_epoch=train_batches, global_step=step,
                   epochs_done=start_epoch,
                   versions={"python": sys.version.split()[0], "torch": torch.__version__})
    if ignored:
        recorder.log(f"note: the plain entry ignores trainer_params {', '.join(ignored)}")

    def checkpoint(epoch: int, batch: int = 0, epoch_loss: tuple[float, int] = (0.0, 0)) -> dict[str, Any]:
        """The state to go on from (`Progress`): batch `batch` of `epoch`."""
        return {"format": PLAIN_CKPT_FORMAT, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "epoch": epoch, "batch": batch, "epoch_loss": epoch_loss, "global_step": step, "best": best,
                "config": cfg}

    gc.freeze()  # set-up objects leave the collector's scans: full collections stay short in the loop
    model.train()
    for epoch in range(start_epoch, max_epochs):
        t_epoch = time.perf_counter()
        first = resumed.batch if epoch == start_epoch else 0
        loss_sum = torch.full((), resumed.epoch_loss[0] if first else 0.0, device=device)
        seen = resumed.epoch_loss[1] if first else 0
        done = first
        for batch_idx, (x, y) in epoch_batches(train_loader, epoch, first):
            if batch_idx >= train_batches:
                break
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with autocast():
                loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), float(clip))
            scaler.step(optimizer)
            scaler.update()
            step, done = step + 1, batch_idx + 1
            loss_sum.add_(loss.detach(), alpha=len(y))
            seen += len(y)
            recorder.train_progress(step)
            if step % log_every == 0:
                # loss.item() waits for the device: the only sync in the loop, once per log interval
                recorder.step(epoch, step, {"train/loss": loss.item()}, len(y))
            if stop.requested:
                break
        if stop.requested and done < train_batches:  # cut inside the epoch: a resume trains the rest of it
            save_atomic(checkpoint(epoch, done, (loss_sum.item(), seen)), ctx.last_ckpt)
            recorder.ckpt("ckpt/last.ckpt", epoch, step, None, None)
            recorder.end("stopped", reason=stop.reason)
            return stop.exit_code
        t_val = time.perf_counter()
        metrics = {"train/loss": (loss_sum / max(seen, 1)).item(),
                   **evaluate(model, loss_fn, val_loader, device, val_batches, autocast)}
        recorder.validation_done(time.perf_counter() - t_val)
        if scheduler is not None:
            scheduler.step()
        epoch_time_s = time.perf_counter() - t_epoch
        recorder.epoch(epoch, step, metrics, epoch_time_s, max_epochs)
        print(epoch_line(epoch, max_epochs, metrics, epoch_time_s, recorder.elapsed_s()), flush=True)
        value = metrics.get(monitor) if monitor else None
        if value is not None and math.isfinite(value) and (
                best is None or (value > best if mode_max else value < best)):
            best = value
            save_atomic(checkpoint(epoch + 1), best_ckpt)
            recorder.ckpt("ckpt/best.ckpt", epoch, step, monitor, value)
        save_atomic(checkpoint(epoch + 1), ctx.last_ckpt)
        recorder.ckpt("ckpt/last.ckpt", epoch, step, monitor, value)
        if stop.requested:  # it came with the epoch's last batch or during validation: the epoch is whole
            recorder.end("stopped", reason=stop.reason)
            return stop.exit_code
    recorder.end("finished")
    return 0


def main(argv: list[str] | None = None) -> None:
    stop = StopRequest().install()
    quiet_known_noise()

    def body() -> int:
        args = build_parser("python -m torchx.train", __doc__ or "").parse_intermixed_args(argv)
        ctx = prepare(args, check_plain_config, entry="train")
        return train_reported(ctx, lambda: train(ctx, stop))

    run_main(body)


if __name__ == "__main__":
    main()
