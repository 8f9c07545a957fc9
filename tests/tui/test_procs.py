"""A run's processes from run.json: the root (rank 0), a DDP rank started with LOCAL_RANK, and the
data-loader workers each of them forks — real processes, found and told apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import REPO
from helpers_procs import wait_for

from tui.launch.local import Launcher
from tui.launch.request import LaunchRequest
from tui.run import processes
from tui.run.processes import ProcSampler, run_name_of

TREE = r"""
import os, subprocess, sys, time
if os.environ.get("LOCAL_RANK") != "1":
    env = dict(os.environ, LOCAL_RANK="1")
    subprocess.Popen([sys.executable, "-c", sys.argv[1], *sys.argv[1:]], env=env)
if os.fork() == 0:      # a data-loader worker
    time.sleep(120)
    os._exit(0)
x = 0
end = time.time() + 120
while time.time() < end:  # keep a core a little busy so CPU % is measurable
    x += 1
    if x % 100000 == 0:
        time.sleep(0.01)
"""


def test_ranks_and_workers_of_a_run(tmp_path: Path, reap_groups: list[int]) -> None:
    run_dir = tmp_path / "save" / "myrun"
    run_dir.mkdir(parents=True)
    argv = [sys.executable, "-c", TREE, TREE, "torchx.train_pl", "--name", "myrun"]
    proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL)
    reap_groups.append(proc.pid)
    (run_dir / "run.json").write_text(json.dumps({
        "pid": proc.pid, "pgid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(),
        "boot_time": psutil.boot_time()}))
    sampler = ProcSampler()
    rows = wait_for(lambda: (r := sampler.sample(run_dir)) and len(r) == 4 and r, 120, "4 processes")
    roles = sorted(r.role for r in rows)
    assert roles == ["rank 0", "rank 1", "worker of rank 0", "worker of rank 1"]
    assert rows[0].pid == proc.pid and rows[0].role == "rank 0"
    rank1 = next(r for r in rows if r.role == "rank 1")
    assert rank1.ppid == proc.pid
    assert {r.ppid for r in rows if r.role.startswith("worker")} == {proc.pid, rank1.pid}
    assert all(r.rss > 1_000_000 for r in rows)
    time.sleep(0.5)
    busy = wait_for(lambda: [r for r in sampler.sample(run_dir, gpu_mem={rank1.pid: 2**30})
                             if r.cpu_percent > 1.0], 120, "CPU % over an interval")
    assert busy
    again = {r.pid: r for r in sampler.sample(run_dir, gpu_mem={rank1.pid: 2**30})}
    assert again[rank1.pid].gpu_mem == 2**30 and again[proc.pid].gpu_mem is None
    worker = next(r for r in rows if r.role == "worker of rank 1")
    assert run_name_of(worker.pid) == "myrun" and run_name_of(os.getpid()) is None
    os.killpg(proc.pid, 9)
    wait_for(lambda: sampler.sample(run_dir) == [], 120, "no processes after the kill")


@pytest.mark.slow
def test_a_real_cpu_ddp_run(tmp_path: Path, reap_tmp) -> None:
    """Lightning's DDP on two CPU processes, one loader worker each: both ranks and their workers."""
    request = LaunchRequest(REPO / "configs" / "digits-classification.yaml", "ddp", tmp_path / "save",
                            cpu_processes=2, overrides=("trainer_params.max_epochs=50",
                                                        "data_module.args.num_workers=1",
                                                        "trainer_params.enable_model_summary=false"))
    run_dir = Launcher().launch(request)
    sampler = ProcSampler()

    def ranks_and_workers() -> list[str] | None:
        roles = sorted(r.role for r in sampler.sample(run_dir))
        return roles if {"rank 0", "rank 1", "worker of rank 0", "worker of rank 1"} <= set(roles) else None

    roles = wait_for(ranks_and_workers, 120, "two ranks with their data-loader workers")
    assert roles.count("rank 0") == 1 and roles.count("rank 1") == 1
    root = processes.run_pid(run_dir)
    assert root is not None
    processes.stop(*root)
    assert processes.wait_gone(*root, timeout=60)
