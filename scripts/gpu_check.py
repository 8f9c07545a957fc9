"""The GPU checks in one run, for a machine with an NVIDIA driver (no network needed).

Checks the TUI's real NVML path, a `--gpu 0` Lightning run, bf16 mixed precision in both entries and
a ResNet-18 run, then the tests that skip without a driver. Prints one PASS/FAIL line per check and
exits non-zero if any failed: `python scripts/gpu_check.py [pytest args...]`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = "configs/digits-classification.yaml"


def train(entry: str, save: Path, name: str, *extra: str) -> str:
    """Run an entry on GPU 0; return a one-line summary, raise if it did not finish well."""
    cmd = [sys.executable, "-m", f"torchx.{entry}", "--config", CONFIG, "--gpu", "0", "--save-dir", str(save),
           "--name", name, *extra]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    events = [json.loads(line) for line in (save / name / "events.jsonl").read_text().splitlines()]
    start = next(e for e in events if e["event"] == "start")
    epochs = [e for e in events if e["event"] == "epoch"]
    acc = epochs[-1]["metrics"]["val/acc"]
    steps = [e for e in events if e["event"] == "step" and e.get("samples_per_s")]
    if events[-1].get("status") != "finished" or start["devices"] != [0] or acc < 0.9:
        raise RuntimeError(f"unexpected: devices={start['devices']} acc={acc} end={events[-1]}")
    return (f"devices={start['devices']} epochs={len(epochs)} val/acc={acc:.4f} "
            f"samples/s={steps[-1]['samples_per_s']:.0f} elapsed={events[-1]['elapsed_s']:.1f}s")


def nvml() -> str:
    from tui.system.gpus import GpuSampler

    sampler = GpuSampler()
    for _ in range(3):
        sample = sampler.sample()
        time.sleep(0.3)
    if sample.no_gpu_reason or not sample.gpus:
        raise RuntimeError(f"no GPUs: {sample.no_gpu_reason} {sampler.no_gpu_detail}")
    return "; ".join(f"{g.index} {g.name} util={g.util_percent} "
                     f"mem={g.mem_used >> 20}/{g.mem_total >> 20} MiB" for g in sample.gpus)


def main() -> int:
    import torch

    print(f"torch {torch.__version__}, cuda {torch.cuda.is_available()}, "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-'}", flush=True)
    save = Path(tempfile.mkdtemp())
    bf16 = "trainer_params.precision=bf16-mixed"
    resnet = "train_wrapper.args.model_spec={name: resnet18, args: {in_channels: 1, num_classes: 10}}"
    checks = {
        "NVML sampler (tui.system.gpus)": nvml,
        "train_pl --gpu 0 fp32": lambda: train("train_pl", save, "fp32"),
        "train_pl --gpu 0 bf16-mixed": lambda: train("train_pl", save, "bf16", bf16),
        "train --gpu 0 bf16-mixed (plain)": lambda: train("train", save, "plain-bf16", bf16),
        "train_pl --gpu 0 resnet18 bf16": lambda: train("train_pl", save, "r18", resnet, bf16,
                                                        "trainer_params.max_epochs=5"),
    }
    failed = 0
    for name, check in checks.items():
        t0 = time.perf_counter()
        try:
            result = check()
            print(f"PASS {name} ({time.perf_counter() - t0:.1f}s): {result}", flush=True)
        except Exception as exc:  # report every check, then fail
            failed += 1
            print(f"FAIL {name}: {type(exc).__name__}: {exc}", flush=True)
    tests = sys.argv[1:] or ["tests/tui/test_gpus.py"]
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    code = subprocess.run(pytest, cwd=REPO).returncode
    print(f"{'PASS' if code == 0 else 'FAIL'} pytest {' '.join(tests)}")
    return 1 if failed or code else 0


if __name__ == "__main__":
    sys.exit(main())
