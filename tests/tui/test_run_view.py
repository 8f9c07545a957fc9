"""The live run view under the pilot: a real CPU run seen training (progress, ETA, plots), stopped
and resumed from the view; a run made to fail shows its error and traceback; the GPU panel against
a fake NVML with fixed readings, and against the real NVML where a driver exists."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import FakeNvml, screen_text, wait_until
from helpers import DIGITS, make_app
from rundirs import T0, make_run, start_event, write_events
from textual.app import App

from tui.app import TorchxApp
from tui.launch.request import LaunchRequest
from tui.run import processes
from tui.screens.confirm import ConfirmScreen
from tui.screens.gpus import GpusScreen
from tui.screens.run_view import RunViewScreen
from tui.settings import Settings
from tui.system.gpus import GpuSampler
from tui.widgets.log_panel import LogPanel
from tui.widgets.metric_plot import MetricPlot
from tui.widgets.search_log import SearchLog

FAST = ("trainer_params.log_every_n_steps=1", "trainer_params.limit_val_batches=2",
        "trainer_params.enable_model_summary=false")


class FixedNvml(FakeNvml):
    """`FakeNvml` plus temperature, power and one compute process per GPU (fixed readings)."""

    def __init__(self, count: int, pid: int) -> None:
        super().__init__(count)
        self.pid = pid

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return 60 + handle

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return 250_000 + 1000 * handle

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        return 700_000

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=self.pid if handle == 0 else 1, usedGpuMemory=(3 + handle) * 2**30)]


def view(app) -> RunViewScreen:
    screen = app.screen
    assert isinstance(screen, RunViewScreen), screen
    return screen


def launch(app, name: str, *overrides: str) -> None:
    request = LaunchRequest(DIGITS, name, app.settings.save_dir, overrides=(*FAST, *overrides))
    app.settings.launcher.launch(request)


@pytest.mark.slow
async def test_live_view_of_a_real_run_then_stop_and_resume(tmp_path: Path, reap_tmp) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        launch(app, "live", "trainer_params.max_epochs=400")  # still training at the last wait below
        app.open_run("live")
        screen = view(app)
        await wait_until(pilot, lambda: screen.snapshot and screen.snapshot.progress.step, 120,
                         "a first step")
        first = screen.snapshot.progress
        plot = screen.query_one(MetricPlot)

        def moved() -> bool:
            p = screen.snapshot.progress
            return p.step > first.step + 10 and p.eta_s is not None and p.epoch >= 1

        await wait_until(pilot, moved, 120, "progress, ETA and a second epoch")
        await wait_until(pilot, lambda: "ETA" in screen_text(app), 120, "the ETA painted (once a second)")
        text = screen_text(app)
        assert "running" in text and "finish" in text and "samples/s" in text and "step " in text
        await wait_until(pilot, lambda: plot.labels == ("val/acc",), 120, "the validation metric plotted")
        assert len(screen.snapshot.series["train/loss"][0]) > 10
        await pilot.press("m")
        assert plot.labels != ("val/acc",)
        await pilot.press("o")
        assert set(plot.labels) == {"train/loss", "val/loss"}
        grown = len(screen.snapshot.series["train/loss"][0])
        await wait_until(pilot, lambda: len(screen.snapshot.series["train/loss"][0]) > grown, 120,
                         "more points")

        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "the stop question")
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.snapshot.status == "stopped", 120, "the run to stop")
        stopped_at = screen.snapshot.progress.step
        assert "last.ckpt" in [c.name for c in screen.snapshot.checkpoints]

        run_dir = app.settings.save_dir / "live"
        await wait_until(pilot, lambda: processes.run_pid(run_dir) is None, 120, "the trainer to exit")
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 120, "the resume question")
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.snapshot.status in ("running", "finished")
                         and screen.snapshot.progress.step > stopped_at, 120, "the resumed run to train")
        await pilot.press("escape")
        assert not isinstance(app.screen, RunViewScreen)


@pytest.mark.slow
async def test_failed_run_shows_error_and_traceback(tmp_path: Path, reap_tmp) -> None:
    """A run that fails while training (a checkpoint metric it never logs: no check can know the
    metrics before the first validation) opens on its traceback."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        launch(app, "bad", "trainer_params.max_epochs=3", "checkpoint.monitor=val/nosuch")
        app.open_run("bad")
        screen = view(app)
        await wait_until(pilot, lambda: screen.snapshot and screen.snapshot.status == "failed", 120,
                         "failure")
        log = screen.query_one(SearchLog)
        await wait_until(pilot, lambda: "val/nosuch" in screen_text(app)
                         and "Traceback (most recent call last)" in screen_text(app), 120, "the traceback")
        text = screen_text(app)
        assert "✘ MisconfigurationException:" in text  # the header's error line
        assert screen.query_one("#tabs").active == "log"
        await pilot.press("slash", *"nosuch", "enter")
        assert log.match is not None and "nosuch" in log.lines[log.match]
        await pilot.pause()
        assert "/nosuch: " in screen.query_one("#log-status").text
        await pilot.press("l")
        assert screen.query_one(LogPanel).source == "stdout.log"
        await wait_until(pilot, lambda: any("nosuch" in line for line in log.lines), 120, "stdout")


async def test_gpu_panel_with_fixed_nvml(tmp_path: Path) -> None:
    save = tmp_path / "save"
    make_run(save, "on-gpu", "running", gpus="0,1")  # its trainer pid is this test process
    nvml = FixedNvml(2, os.getpid())
    app = TorchxApp(Settings(save_dir=save, configs_dir=tmp_path, cache_dir=tmp_path / "cache",
                             refresh_s=0.25, sampler_factory=lambda: GpuSampler(nvml)))
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_run("on-gpu")
        screen = view(app)
        await pilot.press("3")
        panel = screen.query_one("#gpu-panel")
        await wait_until(pilot, lambda: "GPU1" in panel.text, 120, "the GPU panel")
        text = panel.text
        assert "GPU0  10%" in text and "4.0/80.0 GiB" in text and "60°C" in text and "250/700 W" in text
        assert "GPU1  50%" in text and "61°C" in text
        procs = screen.query_one("#procs")
        await wait_until(pilot, lambda: procs.row_count >= 1
                         and "3,072 MiB" in str(procs.get_row(str(os.getpid()))), 120,
                         "GPU memory per process")
        assert nvml.inits == 1 and nvml.handle_lookups == 2  # one sampler for the app, handles cached
        await pilot.press("escape", "g")
        gpus = app.screen
        assert isinstance(gpus, GpusScreen)
        owners = gpus.query_one("#gpu-procs")
        await wait_until(pilot, lambda: owners.row_count == 2, 120, "the GPU owners")
        rows = [owners.get_row_at(i) for i in range(2)]
        assert rows[0][1] == str(os.getpid()) and rows[0][3] == "3,072 MiB"
        assert "not a torchx run" in rows[0][4] and rows[1][1] == "1"
        assert nvml.inits == 1


async def test_gpu_screen_with_the_real_nvml(tmp_path: Path) -> None:
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pytest.skip("no NVIDIA driver on this machine")
    count = pynvml.nvmlDeviceGetCount()
    pynvml.nvmlShutdown()
    (tmp_path / "save").mkdir()
    app = TorchxApp(Settings(save_dir=tmp_path / "save", configs_dir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        summary = app.screen.query_one("#gpu-summary")
        await wait_until(pilot, lambda: f"{count} GPU(s)" in str(summary.content), 120, "real readings")
        text = str(summary.content)
        assert "GPU0" in text and "GiB" in text and "°C" in text


def write_steps(path: Path, steps: int, spe: int = 1000) -> None:
    """A run with `steps` step events (and an epoch event every `spe`), written fast."""
    write_events(path, [start_event("huge", T0, max_epochs=steps // spe + 10) | {"steps_per_epoch": spe}])
    with open(path, "a") as f:
        block = []
        for s in range(1, steps + 1):
            block.append(f'{{"v": 1, "time": {T0 + s * 0.01:.2f}, "event": "step", '
                         f'"epoch": {(s - 1) // spe}, "step": {s}, '
                         f'"metrics": {{"train/loss": {1 / s:.6f}}}, '
                         f'"eta_s": 1000.0}}\n')
            if s % spe == 0:
                block.append(f'{{"v": 1, "time": {T0 + s * 0.01:.2f}, "event": "epoch", '
                             f'"epoch": {s // spe - 1}, "step": {s}, '
                             f'"metrics": {{"val/loss": {1 / s:.6f}}}}}\n')
            if len(block) > 50_000:
                f.write("".join(block))
                block = []
        f.write("".join(block))


class ViewOnly(App[None]):
    """The run view alone, without the runs table (whose scanner has its own cost on huge files)."""

    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__()
        self.settings, self.run_name = settings, name

    def open(self) -> None:
        self.push_screen(RunViewScreen(self.settings, self.run_name))


async def test_a_million_steps_stay_responsive(tmp_path: Path) -> None:
    save = tmp_path / "save"
    (save / "huge").mkdir(parents=True)
    events = save / "huge" / "events.jsonl"
    write_steps(events, 1_000_000)
    app = ViewOnly(Settings(save_dir=save, configs_dir=tmp_path, cache_dir=None, refresh_s=0.25), "huge")
    async with app.run_test(size=(120, 40)) as pilot:
        started = time.monotonic()
        app.open()
        await pilot.pause()
        screen = view(app)
        await wait_until(pilot, lambda: screen.snapshot is not None, 120, "the view of 1M steps")
        opened = time.monotonic() - started
        plot = screen.query_one(MetricPlot)
        assert plot.labels == ("val/loss",)
        for key, expected in (("m", ("train/loss",)), ("m", ("val/loss",)), ("o", None), ("x", None)):
            t = time.monotonic()
            await pilot.press(key)
            await pilot.pause()
            assert time.monotonic() - t < 1.0, f"'{key}' took {time.monotonic() - t:.2f} s"
            assert expected is None or plot.labels == expected
        assert plot.axis == "epoch" and set(plot.labels) == {"train/loss", "val/loss"}
        await wait_until(pilot, lambda: not screen.snapshot.loading, 120, "the backfill")
        assert all(len(xs) <= 512 for xs, _ in screen.snapshot.series.values())
        assert screen.snapshot.metrics[0].count == 1000  # every epoch found by the backfill
        with open(events, "a") as f:
            f.write(json.dumps({"v": 1, "time": T0 + 20_000, "event": "step", "epoch": 1000,
                                "step": 1_000_001, "metrics": {"train/loss": 5e-7}}) + "\n")
        await wait_until(pilot, lambda: screen.snapshot.progress.step == 1_000_001, 120, "the new step")
    assert opened < 5.0, f"opening 1M steps took {opened:.1f} s"
