"""`f` forks a run: the launch dialog opens on its config, its overrides and a fresh name."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from conftest import wait_until
from helpers import configs_dir, make_app, open_on, row
from rundirs import make_run
from textual.widgets import Input

from torchx.config import dump_config, load_config
from tui.launch.fork import fork_prefill, split_argv, without_launcher_overrides
from tui.launch.request import cpu_ddp_overrides
from tui.launch.slurm import SlurmSpec, entry_command
from tui.screens.launch import LaunchScreen

OVERRIDES = ["trainer_params.max_epochs=3", "train_wrapper.args.optim_spec.args.lr=0.001"]
OK = (sys.executable, "-c", "import sys; sys.exit(0)")


def launched_run(save: Path, configs: Path, name: str) -> Path:
    """A run launched by the TUI from configs/digits.yaml with two overrides, on 2 CPU DDP ranks."""
    run = make_run(save, name, "finished")
    config = configs / "digits.yaml"
    device = ["trainer_params.accelerator=cpu", "trainer_params.devices=2", "trainer_params.strategy=ddp"]
    argv = [sys.executable, "-m", "torchx.train_pl", "--config", str(config), "--name", name,
            "--save-dir", str(save), *device, *OVERRIDES]
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "argv": argv}))
    (run / "config.yaml").write_text(dump_config(load_config(config, device + OVERRIDES)))
    return run


async def fork(pilot, app, name: str) -> LaunchScreen:
    await wait_until(pilot, lambda: row(app, name) is not None, 120, "the run")
    return await open_on(pilot, app, name, "f", LaunchScreen, lambda s: s.config is not None,
                         "the launch dialog")


async def test_fork_prefills_config_overrides_and_a_fresh_name(tmp_path: Path) -> None:
    app = make_app(tmp_path, check_entry=OK, clock=lambda: 1_795_000_000.0)
    launched_run(app.settings.save_dir, app.settings.configs_dir, "lr-1e-3")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await fork(pilot, app, "lr-1e-3")
        assert screen.config == app.settings.configs_dir / "digits.yaml"
        assert screen.query_one("#overrides", Input).value == " ".join(OVERRIDES)  # devices: the picker's
        name = screen.query_one("#name", Input).value
        assert name.startswith("digits-") and not (app.settings.save_dir / name).exists()
        await pilot.pause(0.6)  # the config highlight and validation must not rename it
        assert screen.query_one("#name", Input).value == name
        await wait_until(pilot, lambda: "config ok" in str(screen.query_one("#config-status").content), 120,
                         "the prefilled config and overrides validated")


async def test_fork_of_a_run_whose_config_changed_uses_its_own_config(tmp_path: Path) -> None:
    app = make_app(tmp_path, check_entry=OK)
    run = launched_run(app.settings.save_dir, app.settings.configs_dir, "old")
    source = app.settings.configs_dir / "digits.yaml"
    source.write_text(source.read_text().replace("batch_size: 64", "batch_size: 32"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await fork(pilot, app, "old")
        assert screen.config == run / "config.yaml"
        assert screen.query_one("#overrides", Input).value == " ".join(OVERRIDES)
        notes = [n.message for n in app._notifications]
        assert any("gone or changed since, so its own config.yaml" in n for n in notes)


def test_argv_split() -> None:
    argv = ["python", "-m", "torchx.train_pl", "--config", "c.yaml", "--name", "n", "--gpu", "0,1", "a.b=1"]
    assert split_argv(argv) == ("c.yaml", ["a.b=1"])


def test_only_the_device_overrides_the_launcher_added_are_left_out() -> None:
    mine = ["a.b=1", "trainer_params.devices=4"]
    local = {"backend": "local"}
    assert without_launcher_overrides(local, [*cpu_ddp_overrides(2), *mine]) == mine
    assert without_launcher_overrides(local, mine) == mine
    assert without_launcher_overrides({}, [*cpu_ddp_overrides(2), *mine]) == [*cpu_ddp_overrides(2), *mine]


def test_fork_of_a_slurm_run_keeps_the_users_overrides_only(tmp_path: Path) -> None:
    """Slurm's launcher appends num_nodes/devices/accelerator/strategy after the user's overrides."""
    configs = configs_dir(tmp_path)
    run = make_run(tmp_path / "save", "on-slurm", "finished")
    spec = SlurmSpec(nodes=2, tasks_per_node=4, gpus_per_node=4)
    args = ["--config", str(configs / "digits.yaml"), "--name", run.name, "--save-dir", str(run.parent),
            *OVERRIDES, "trainer_params.devices=1"]
    launch = {**json.loads((run / "run.json").read_text()), "backend": "slurm", "slurm": asdict(spec),
              "argv": entry_command(args, spec)}
    (run / "run.json").write_text(json.dumps({**launch, "launches": [launch]}))
    (run / "config.yaml").write_text(dump_config(load_config(configs / "digits.yaml",
                                                             [*OVERRIDES, *spec.trainer_overrides()])))
    prefill = fork_prefill(run)
    assert prefill.config == configs / "digits.yaml"
    assert prefill.overrides == " ".join([*OVERRIDES, "trainer_params.devices=1"])
