"""Evaluate a run's checkpoint on its data module's test split.

`python -m torchx.evaluate --run NAME [--ckpt best|last|PATH] [--save-dir save] [--gpu 0|cpu]` prints
the metrics, appends a `test` event to the run's events.jsonl and a line to its log.txt (`python -m
torchx.test` is the same command). Bad input (an unknown run, a missing checkpoint, a wrapper without
`test_step`) is one `error:` line and exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchx.errors import UserError
from torchx.experiment import RunDirError, validate_run_name
from torchx.quiet import quiet_known_noise
from torchx.session import parse_gpus, run_main

quiet_known_noise()  # Lightning's srun warning, as in the entries


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m torchx.evaluate", description=__doc__)
    parser.add_argument("--run", required=True, metavar="NAME", help="the run to evaluate")
    parser.add_argument("--ckpt", default="best", help="best (default), last, or a path in the run")
    parser.add_argument("--save-dir", default="save", help="where run directories live (default: save)")
    parser.add_argument("--gpu", help="one CUDA device id, or 'cpu' (default: a GPU if there is one)")
    return parser


def evaluate(args: argparse.Namespace) -> int:
    import pytorch_lightning as pl

    from torchx import datasets
    from torchx.loading import load_run
    from torchx.recorder import RunRecorder

    problem = validate_run_name(args.run)
    if problem:
        raise RunDirError(problem)
    gpus = parse_gpus(args.gpu)
    if gpus is not None and len(gpus) > 1:
        raise UserError(f"--gpu {args.gpu}: evaluation uses one device")
    loaded = load_run(Path(args.save_dir) / args.run, args.ckpt)
    if type(loaded.model).test_step is pl.LightningModule.test_step:
        name = loaded.config["train_wrapper"]["name"]
        raise UserError(f"train_wrapper '{name}' has no test_step to evaluate")
    data = datasets.make(loaded.config["data_module"])
    data.validate()
    loader = data.test_dataloader()
    if len(loader) == 0:
        raise UserError(f"{args.run}: the data module's test split is empty")
    trainer = pl.Trainer(accelerator="cpu" if gpus == [] else ("gpu" if gpus else "auto"),
                         devices=gpus or 1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    results = trainer.test(loaded.model, dataloaders=loader, verbose=False)
    metrics = {key: float(value) for key, value in results[0].items()}
    ckpt = str(loaded.ckpt_path.relative_to(loaded.run_dir))
    recorder = RunRecorder(loaded.run_dir)
    recorder.test(ckpt, metrics)
    recorder.close()
    print(f"{args.run} {ckpt}: " + " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
    return 0


def main(argv: list[str] | None = None) -> None:
    run_main(lambda: evaluate(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
