"""Lightning entry: `python -m torchx.train_pl --config C [--gpu 0,1|cpu] [--name N] [--resume N] [k=v ...]`.

Builds the data module, wrapper and callbacks from the config, fits with Lightning (DDP when several
devices), and records the run in `save/<name>/` (ARCHITECTURE.md). SIGINT/SIGTERM stop after the current
step with `last.ckpt` written; `--resume NAME` continues from it at the batch it stopped at.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

from torchx.quiet import quiet_known_noise
from torchx.session import (
    RunContext,
    build_parser,
    end_after_error,
    is_child_rank,
    prepare,
    run_main,
    train_reported,
)
from torchx.stopping import ENV_PARENT_PID, StopRequest, watch_parent


def trainer_params(ctx: RunContext) -> dict[str, Any]:
    """`trainer_params` with `--gpu` applied; one device unless asked for more; checkpoints written by
    `AtomicCheckpointIO`."""
    from torchx.callbacks.checkpoint import AtomicCheckpointIO

    params = dict(ctx.config.get("trainer_params") or {})
    plugins = params.get("plugins") or []
    params["plugins"] = [*(plugins if isinstance(plugins, list) else [plugins]), AtomicCheckpointIO()]
    if ctx.gpus:
        params.update(accelerator="gpu", devices=ctx.gpus)
        if len(ctx.gpus) > 1:
            params.setdefault("strategy", "ddp")
    elif ctx.gpus == []:
        params["accelerator"] = "cpu"
    params.setdefault("devices", 1)
    params.setdefault("enable_progress_bar", sys.stdout.isatty())
    return params


def leave_process_group() -> None:
    """Tear down the DDP process group once every rank is out of `fit` (no collective is left to
    run). Left to the interpreter's exit, gloo's threads could abort a rank ("terminate called without
    an active exception"): a requeue's exit 75 became 134 on that rank, and Slurm did not requeue."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def fit(ctx: RunContext, stop: StopRequest) -> int:
    import pytorch_lightning as pl

    from torchx import callbacks, datasets, wrappers
    from torchx.callbacks.checkpoint import checkpoint_callbacks
    from torchx.callbacks.events import EventsCallback
    from torchx.callbacks.graceful_stop import GracefulStop
    from torchx.experiment import CKPT_DIR, TB_DIR
    from torchx.loggers import TensorBoard
    from torchx.recorder import RunRecorder
    from torchx.resumable import data_seed, resumable

    if ctx.config.get("seed") is not None:
        pl.seed_everything(ctx.config["seed"], workers=True, verbose=False)
    events_cb = EventsCallback(ctx.run_dir, ctx.run_info())
    graceful = GracefulStop(stop, ctx.last_ckpt, events_cb.on_checkpoint_saved)
    try:
        data = datasets.make(ctx.config["data_module"])
        wrapper = wrappers.make(ctx.config["train_wrapper"])
        extra = [callbacks.make(spec) for spec in ctx.config.get("callbacks") or []]
        checkpoints = checkpoint_callbacks(events_cb, ctx.run_dir / CKPT_DIR,
                                           ctx.config.get("checkpoint") or {})
        trainer = pl.Trainer(
            default_root_dir=ctx.run_dir,
            logger=TensorBoard(save_dir=ctx.run_dir, name=TB_DIR, version="", default_hp_metric=False),
            callbacks=[events_cb, graceful, *checkpoints, *extra],
            **trainer_params(ctx),
        )
        train_loader = resumable(data.train_dataloader(), data_seed(ctx.config, ctx.name))
        gc.freeze()  # set-up objects leave the collector's scans: full collections stay short in the loop
        trainer.fit(wrapper, train_dataloaders=train_loader,
                    val_dataloaders=data.val_dataloader(), ckpt_path=ctx.resume_ckpt)
    except BaseException as exc:
        recorder = events_cb.recorder or RunRecorder(ctx.run_dir, enabled=not is_child_rank())
        return end_after_error(recorder, exc, stop)
    leave_process_group()
    if events_cb.recorder is not None:
        if graceful.stopped:
            events_cb.recorder.end("stopped", reason=stop.reason)
        else:  # a callback that ended training early (early_stopping) says why
            reason = next((cb.stop_reason for cb in extra if getattr(cb, "stop_reason", None)), None)
            events_cb.recorder.end("finished", reason=reason)
    return stop.exit_code if graceful.stopped else 0


def main(argv: list[str] | None = None) -> None:
    stop = StopRequest().install()  # from the first moment: a stop during start-up is honoured too
    quiet_known_noise()
    if is_child_rank():
        watch_parent()  # rank 0 killed alone: leave rather than wait for it forever
    else:
        os.environ[ENV_PARENT_PID] = str(os.getpid())  # the ranks Lightning starts watch this process

    def body() -> int:
        from torchx.check import check_config

        args = build_parser("python -m torchx.train_pl", __doc__ or "").parse_intermixed_args(argv)
        ctx = prepare(args, check_config, entry="train_pl")
        return train_reported(ctx, lambda: fit(ctx, stop))

    run_main(body)


if __name__ == "__main__":
    main()
