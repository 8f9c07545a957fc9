"""The Slurm backend's torch-free logic: the dialog's fields, the batch script, job states. (Statuses
from job states: test_status.py; real jobs: tests/slurm.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.errors import LaunchError
from tui.launch.request import LaunchRequest
from tui.launch.slurm import (
    SlurmLauncher,
    SlurmSpec,
    extra_lines,
    sbatch_script,
    spec_from_fields,
    spec_from_record,
)
from tui.run.jobs import JobStates
from tui.run.status import GONE


def fields(**changed: str) -> SlurmSpec:
    values = {"partition": "", "time_limit": "", "nodes": "1", "gpus_per_node": "0", "tasks_per_node": "",
              "cpus_per_task": "", "extra": ""}
    return spec_from_fields(**{**values, **changed})


def test_fields_make_a_spec() -> None:
    assert fields() == SlurmSpec()
    spec = fields(partition=" gpu ", time_limit="1-02:00:00", nodes="2", gpus_per_node="4", cpus_per_task="8",
                  extra="--mem=64G --qos high")
    assert spec == SlurmSpec(nodes=2, tasks_per_node=4, gpus_per_node=4, cpus_per_task=8, partition="gpu",
                             time_limit="1-02:00:00", extra=["--mem=64G", "--qos high"])
    assert spec.label() == "2×4" and fields(tasks_per_node="2").label() == "cpu×2"
    assert fields(time_limit="90").time_limit == "90"


@pytest.mark.parametrize(("changed", "because"), [
    ({"nodes": "0"}, "nodes must be a whole number ≥ 1, got '0'"),
    ({"gpus_per_node": "2", "tasks_per_node": "3"}, "tasks/node must equal GPUs/node (2)"),
    ({"time_limit": "2h"}, "time '2h': expected minutes, HH:MM:SS or D-HH:MM"),
    ({"extra": "mem=4G"}, "#SBATCH options must start with an option (--name=value), got 'mem=4G'"),
    ({"extra": "--comment 'open"}, "#SBATCH options: No closing quotation"),
])
def test_bad_fields_are_named(changed: dict[str, str], because: str) -> None:
    with pytest.raises(ValueError, match="^" + because.replace("(", r"\(").replace(")", r"\)")):
        fields(**changed)


def test_extra_options_one_line_each_with_their_values() -> None:
    assert extra_lines("--begin=now+60  -A proj --comment 'two words'") == [
        "--begin=now+60", "-A proj", "--comment 'two words'"]
    assert extra_lines("  ") == []


def test_script_sets_devices_from_the_fields(tmp_path: Path) -> None:
    spec = fields(partition="gpu", time_limit="30", nodes="2", gpus_per_node="4", extra="--mem=8G")
    script = sbatch_script(tmp_path / "r", ["--config", "c.yaml"], spec, workdir=tmp_path, python="py")
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=4", "#SBATCH --gpus-per-node=4",
                 "#SBATCH --partition=gpu", "#SBATCH --time=30", "#SBATCH --signal=USR1@120",
                 "#SBATCH --mem=8G", f"cd {tmp_path}"):
        assert line + "\n" in script
    assert ("srun --wait=120 py -m torchx.train_pl --config c.yaml trainer_params.num_nodes=2 "
            "trainer_params.devices=4 trainer_params.accelerator=gpu trainer_params.strategy=ddp\n") in script


def test_a_batch_script_that_cannot_be_written_is_a_launch_error_that_frees_the_name(tmp_path: Path) -> None:
    """The run directory can be made (its path is just short enough); its script's path is over PATH_MAX."""
    name, save = "run", tmp_path
    while len(str(save / name)) < 4090:
        save = save / ("d" * min(200, 4090 - len(str(save / name)) - 1))
    request = LaunchRequest(Path("configs/digits.yaml"), name, save, slurm=SlurmSpec())
    with pytest.raises(LaunchError, match=r"slurm\.sbatch: cannot write the batch script"):
        SlurmLauncher(workdir=tmp_path).launch(request)
    assert not (save / name).exists()


def test_a_forgotten_job_is_not_asked_about_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run view polls its job's state each second; once Slurm has forgotten the job, squeue is no
    longer called (the listing is stubbed: the real cluster forgets a job only after MinJobAge)."""
    listings = iter(["7 RUNNING\n8 PENDING\n", "8 RUNNING\n", "8 RUNNING\n"])
    calls: list[list[str]] = []
    monkeypatch.setattr("tui.run.jobs.slurm_command", lambda cmd: calls.append(cmd) or next(listings))
    jobs = JobStates(max_age_s=0.0)
    assert jobs.state(7) == "RUNNING" and jobs.state(7) == GONE and len(calls) == 2
    assert [jobs.state(7) for _ in range(5)] == [GONE] * 5 and len(calls) == 2
    assert jobs.state(8) == "RUNNING" and len(calls) == 3  # other jobs are still asked about


@pytest.mark.parametrize(("stored", "because"), [
    ({"partition": "gpu\nrm -rf ~"}, "partition"),
    ({"time_limit": "10\ntouch pwned"}, "time"),
    ({"nodes": "1; touch pwned"}, "nodes"),
    ({"extra": "--mem=1G"}, "extra"),
    ({"requeue_warning_s": "120"}, "requeue_warning_s"),
    ("not a mapping", "mapping"),
])
def test_a_tampered_slurm_record_is_refused(stored: object, because: str) -> None:
    """Resume reads the Slurm fields back from run.json: they are checked as the dialog checks them."""
    record = {**vars(SlurmSpec()), **stored} if isinstance(stored, dict) else stored
    with pytest.raises(ValueError, match=because):
        spec_from_record(record)


def test_a_stored_extra_option_cannot_add_a_shell_line(tmp_path: Path) -> None:
    spec = spec_from_record({**vars(SlurmSpec()), "extra": ["--mem=1G\ntouch pwned", "--qos high"]})
    script = sbatch_script(tmp_path / "r", ["--resume", "r"], spec, workdir=tmp_path, python="py")
    head = script.split("\n\n")[0].splitlines()
    assert head[0] == "#!/bin/bash" and all(line.startswith("#SBATCH ") for line in head[1:])
    assert spec_from_record(vars(fields(partition="gpu", extra="--mem=8G"))) == fields(partition="gpu",
                                                                                        extra="--mem=8G")
