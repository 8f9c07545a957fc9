"""The launch dialog: config, devices, name and overrides, validated before anything starts; `ctrl+l`
starts the run, `ctrl+q` queues it instead (the save dir's queue runner starts it once its devices are
free, `tui.queue`). With `sweep` ticked it makes a sweep of that name instead (`SweepFields`; each trial
gets the dialog's devices), checked as a launch is, every point of it by the same warm checker, and
queued: the runner asks its trials as devices free.

Each config is checked twice: its structure in-process at once, then fully (the entry's own check) by
the dialog's `Checker`, one warm `torchx.check` process that lives as long as the dialog does.

What has focus and what is chosen read without colour too (`NO_COLOR`): `▸` before the focused field's
label, `▸`/`•` before the highlighted config (focused/not), `▐●▌` for the chosen backend, `▐ ▌` for the
other, a bar beside the focused preview.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Checkbox, Footer, Input, Label, OptionList, RadioSet, SelectionList, Static
from textual.worker import get_current_worker

from torchx.experiment import default_run_name, validate_run_name
from tui.errors import LaunchError
from tui.launch import backends, checks, recent
from tui.launch.checks import Verdict
from tui.launch.request import LaunchRequest
from tui.messages import ConfigValidated, GpusShared, LaunchFinished
from tui.queue.sweeps import make as sweeps
from tui.queue.sweeps.space import FORMS
from tui.queue.sweeps.spec import Pruning, SweepError
from tui.widgets.gpu_picker import GpuPicker
from tui.widgets.slurm_fields import SlurmFields
from tui.widgets.sweep_fields import Choice, SweepFields, SweepValues, Tick

if TYPE_CHECKING:
    from tui.launch.fork import ForkPrefill
    from tui.launch.slurm import SlurmSpec
    from tui.settings import Settings

VALIDATE_DELAY_S = 0.4
FOCUS_MARK = "▸ "
"""Before the focused field's label and the highlighted config while the list has focus."""
CHOSEN_MARK = "• "
"""Before the highlighted config while focus is elsewhere: the config a launch uses."""


@dataclass(frozen=True)
class LaunchResult:
    name: str
    resume: bool = False
    queued: bool = False
    place: int | None = None
    """Its place in the queue when it was queued (None when the runner took it at once)."""


class LaunchScreen(ModalScreen[LaunchResult | None]):
    CSS_PATH = "launch.tcss"
    BINDINGS = [
        Binding("ctrl+l", "launch", "Launch", priority=True),
        Binding("ctrl+q", "queue", "Queue", priority=True),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "resume_existing", "Resume existing", priority=True),
        Binding("ctrl+n", "new_name", "New name", priority=True),
    ]

    def __init__(self, settings: Settings, prefill: ForkPrefill | None = None) -> None:
        """`prefill`: start from a past run's config, overrides and a fresh name (fork)."""
        super().__init__()
        self.settings = settings
        self.config_paths = checks.list_configs(settings.configs_dir)
        self.prefill = prefill
        if prefill is not None and prefill.config.resolve() not in {p.resolve() for p in self.config_paths}:
            self.config_paths.insert(0, prefill.config)  # a run's own config.yaml
        self._verdicts: dict[tuple[str, str], Verdict] = {}
        self._check_lock = threading.Lock()
        self._checker = checks.Checker(settings.check_entry)
        self._name_edited = False
        self._default_name = ""
        self._name_exists = False
        self._busy = False
        self._place: int | None = None
        """Set by the launch worker before it reports a queued run: its place in the queue."""
        self._sweep_made = ""
        """Set by the sweep worker before it reports a sweep made: what to tell the user."""
        self._debounce: Timer | None = None
        self._config_labels = [p.name if p.parent == settings.configs_dir else str(p)
                               for p in self.config_paths]
        self._marked_config: int | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "Launch a run"
            dialog.can_focus = False  # it scrolls to the focused field (80x24 with the sweep's fields)
            with Horizontal(id="top"):
                yield OptionList(*[Content("  " + label) for label in self._config_labels], id="configs")
                with VerticalScroll(id="preview"):
                    yield Static("", id="yaml", markup=False)
            if self.settings.slurm is not None:  # offered only where `sbatch` is on the PATH
                with Horizontal(classes="field", id="backend-row"):
                    yield Label("backend", classes="label")
                    yield RadioSet(Choice("local", value=True), Choice("slurm"), id="backend", compact=True)
            yield GpuPicker(id="devices")
            if self.settings.slurm is not None:
                yield SlurmFields(id="slurm", classes="hidden")
            with Horizontal(classes="field"):
                yield Label("name", classes="label")
                yield Input(id="name", compact=True)
            with Horizontal(classes="field"):
                yield Label("overrides", classes="label")
                yield Input(id="overrides", compact=True, placeholder="key.path=value ...")
                yield Tick("sweep", id="sweep", compact=True)
            yield SweepFields(id="sweep-fields", classes="hidden")
            yield Static("", id="config-status", markup=False)
            yield Static("", id="name-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        option_list = self.query_one("#configs", OptionList)
        if not self.config_paths:
            self._show_config(Verdict(False, f"no configs (*.yaml) in {self.settings.configs_dir}"))
        elif self.prefill is not None:
            resolved = [p.resolve() for p in self.config_paths]
            option_list.highlighted = resolved.index(self.prefill.config.resolve())
            self.query_one("#overrides", Input).value = self.prefill.overrides
            self._name_edited = True
            self.query_one("#name", Input).value = self.prefill.name
            if self.prefill.slurm is not None and self.settings.slurm is not None:
                self._keep_slurm_fields(self.prefill.slurm)
        else:
            last = recent.recall(self.settings.cache_dir)  # the config launched last, else the default
            option_list.highlighted = recent.initial_index(self.config_paths, last)
        want_gpus = getattr(self.app, "want_gpus", None)  # the app's one NVML sampler
        if want_gpus is not None:
            want_gpus(self)

    def on_unmount(self) -> None:
        self._checker.close()  # the dialog's checker process goes with it
        release_gpus = getattr(self.app, "release_gpus", None)
        if release_gpus is not None:
            release_gpus(self)

    # ---- what has focus, without colour ----

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mark_focus(event.widget, True)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._mark_focus(event.widget, False)

    def _mark_focus(self, widget: Widget, focused: bool) -> None:
        """`▸` before the label of the focused field: the static text just before it in its row."""
        if widget.id == "configs":
            self._mark_config()
            return
        siblings = list(widget.parent.children) if widget.parent is not None else []
        index = siblings.index(widget) if widget in siblings else 0
        label = siblings[index - 1] if index > 0 else None
        if isinstance(label, Static):
            text = str(label.content).removeprefix(FOCUS_MARK)
            label.update(FOCUS_MARK + text if focused else text)

    def _mark_config(self) -> None:
        """`▸` before the highlighted config while the list has focus, `•` while it has not."""
        option_list = self.query_one("#configs", OptionList)
        highlighted = option_list.highlighted
        for index in {i for i in (self._marked_config, highlighted) if i is not None}:
            mark = (FOCUS_MARK if option_list.has_focus else CHOSEN_MARK) if index == highlighted else "  "
            option_list.replace_option_prompt_at_index(index, Content(mark + self._config_labels[index]))
        self._marked_config = highlighted

    # ---- selection and validation ----

    @property
    def config(self) -> Path | None:
        index = self.query_one("#configs", OptionList).highlighted
        return self.config_paths[index] if index is not None and index < len(self.config_paths) else None

    @property
    def overrides_text(self) -> str:
        return self.query_one("#overrides", Input).value.strip()

    @on(OptionList.OptionHighlighted, "#configs")
    def config_highlighted(self) -> None:
        config = self.config
        if config is None:
            return
        self._mark_config()
        # After a refresh: an update before the first layout leaves the preview one line high.
        self.call_after_refresh(self.query_one("#yaml", Static).update, checks.read_preview(config))
        if not self._name_edited:
            self._set_name(self._fresh_name(config))
        self._prefill_objective(config)
        self._validate_current()

    @on(OptionList.OptionSelected, "#configs")
    def config_selected(self) -> None:
        self.query_one("#name", Input).focus()

    @on(Input.Changed, "#overrides")
    def overrides_changed(self) -> None:
        self._validate_current()

    @on(Input.Changed, "#name")
    def name_changed(self, event: Input.Changed) -> None:
        if event.value != self._default_name:
            self._name_edited = True  # typed by the user: a new config no longer renames the run
        self._check_name()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_launch()

    def _set_name(self, name: str) -> None:
        self._default_name = name
        self.query_one("#name", Input).value = name

    def _fresh_name(self, config: Path) -> str:
        """The default name of a run of `config`, or of a sweep of it while `sweep` is ticked."""
        if self.sweeping:
            return sweeps.default_name(self.settings.save_dir, config, self.settings.clock())
        return default_run_name(config, now=self.settings.clock())

    def _check_name(self) -> str | None:
        name = self.query_one("#name", Input).value.strip()
        if self.sweeping:  # no sweep of that name, no run named as one of its trials
            try:
                sweeps.check_name(self.settings.save_dir, name)
                problem = None
            except SweepError as exc:
                problem = sweeps.field_text(str(exc))
            self._name_exists = False
        else:
            problem = validate_run_name(name)
            self._name_exists = problem is None and (self.settings.save_dir / name).exists()
        if self._name_exists:
            problem = f"run '{name}' already exists: ctrl+r resumes it, ctrl+n picks a new name"
        self.query_one("#name-status", Static).update(f"✘ {problem}" if problem else "")
        self.query_one("#name-status").set_class(bool(problem), "error")
        return problem

    def _validate_current(self) -> None:
        """Validate once typing pauses: a full check is a round trip to the checker process."""
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(VALIDATE_DELAY_S, self._validate_now)

    def _validate_now(self) -> None:
        config = self.config
        if config is None:
            return
        overrides, problem = checks.split_overrides(self.overrides_text)
        if problem:
            self._show_config(Verdict(False, problem))
            return
        self.validate(config, overrides)

    @work(thread=True, exclusive=True, group="validate")
    def validate(self, config: Path, overrides: list[str]) -> None:
        key = (str(config), " ".join(overrides))
        structure = checks.validate_structure(config, overrides)
        self.post_message(ConfigValidated(key, structure, final=not structure.ok))
        if structure.ok:
            verdict = self._full_verdict(config, overrides, skip_if_cancelled=True)
            if verdict is not None:
                self.post_message(ConfigValidated(key, verdict, final=True))

    def _full_verdict(self, config: Path, overrides: list[str],
                      skip_if_cancelled: bool = False) -> Verdict | None:
        """The framework's check, run at most once per (config, overrides) by either worker; None when
        a superseded validation gave up waiting, or the dialog closed."""
        key = (str(config), " ".join(overrides))
        worker = get_current_worker()
        cancelled = (lambda: worker.is_cancelled) if skip_if_cancelled else (lambda: False)
        with self._check_lock:
            if key not in self._verdicts:
                verdict = self._checker.check(config, overrides, cancelled)
                if verdict is None:
                    return None
                self._verdicts[key] = verdict
            return self._verdicts[key]

    @on(ConfigValidated)
    def config_validated(self, message: ConfigValidated) -> None:
        config = self.config
        overrides, problem = checks.split_overrides(self.overrides_text)
        if config is None or problem or message.key != (str(config), " ".join(overrides)):
            return  # stale: the selection changed meanwhile
        verdict = message.verdict
        if verdict.ok and not message.final:
            verdict = Verdict(True, "structure ok · checking registry names and arguments…")
        self._show_config(verdict)

    def _show_config(self, verdict: Verdict) -> None:
        status = self.query_one("#config-status", Static)
        status.update(("✔ " if verdict.ok else "✘ ") + verdict.message)
        status.set_class(not verdict.ok, "error")

    # ---- devices ----

    @property
    def on_slurm(self) -> bool:
        return self.settings.slurm is not None and self.query_one("#backend", RadioSet).pressed_index == 1

    @on(RadioSet.Changed, "#backend")
    def backend_changed(self) -> None:
        """Slurm's fields replace the picker of this machine's devices."""
        self.query_one(GpuPicker).set_class(self.on_slurm, "hidden")
        self.query_one(SlurmFields).set_class(not self.on_slurm, "hidden")
        self.preview_sweep()

    @on(GpusShared)
    def gpus_shared(self, message: GpusShared) -> None:
        picker = self.query_one(GpuPicker)
        first = picker.has_gpus is None
        picker.update_sample(message.sample)
        if first and self.prefill is not None:
            self._keep_devices(picker, self.prefill.gpus, self.prefill.cpu_processes)

    def _keep_devices(self, picker: GpuPicker, gpus: tuple[int, ...], procs: int) -> None:
        """A fork starts from its run's devices: its GPUs (those this machine has), or none and its CPU
        processes; the picker's first sample has just shown what this machine offers."""
        self.query_one("#procs", Input).value = str(procs)
        if not picker.has_gpus:
            return
        gpu_list: SelectionList[int] = picker.query_one("#gpu-list", SelectionList)
        here = [g for g in gpus if g in range(gpu_list.option_count)]
        if gpus and not here:
            return  # none of its GPUs is here: the picker's own default stands
        gpu_list.deselect_all()
        for gpu in here:
            gpu_list.select(gpu)
        picker.query_one("#cpu-row").set_class(bool(here), "hidden")  # CPU: show how many processes

    def _keep_slurm_fields(self, spec: SlurmSpec) -> None:
        """A fork of a Slurm run starts on Slurm with its fields."""
        self.query(Choice)[1].value = True
        fields = {"partition": spec.partition, "time-limit": spec.time_limit, "nodes": spec.nodes,
                  "gpus-per-node": spec.gpus_per_node, "tasks-per-node": spec.tasks_per_node,
                  "cpus-per-task": spec.cpus_per_task, "sbatch-extra": " ".join(spec.extra)}
        for field_id, value in fields.items():
            self.query_one(f"#{field_id}", Input).value = "" if value is None else str(value)

    # ---- actions ----

    def action_cancel(self) -> None:
        self.workers.cancel_node(self)
        self.dismiss(None)

    def action_new_name(self) -> None:
        if self.config is not None:
            self._name_edited = False
            self._set_name(self._fresh_name(self.config))

    def action_resume_existing(self) -> None:
        if self._check_name() and self._name_exists:
            self.workers.cancel_node(self)
            self.dismiss(LaunchResult(self.query_one("#name", Input).value.strip(), resume=True))

    def action_launch(self, queue: bool = False) -> None:
        if self._busy:
            return
        request = self._request()
        if request is None:
            return
        values = self.query_one(SweepFields).values() if self.sweeping else None
        self._busy = True
        doing = "checking every point of the sweep" if values else "queueing" if queue else "launching"
        self._show_config(Verdict(True, f"validating and {doing}…"))
        if self._debounce is not None:
            self._debounce.stop()
        self.workers.cancel_group(self, "validate")
        if values is not None:
            self.make_sweep(request, values)
        else:
            self.launch(request, queue)

    def action_queue(self) -> None:
        """`ctrl+q`: the launch's checks, then the run waits in the queue for its devices."""
        self.action_launch(queue=True)

    def _request(self) -> LaunchRequest | None:
        config = self.config
        if config is None:
            self._show_config(Verdict(False, "pick a config first"))
            return None
        overrides, problem = checks.split_overrides(self.overrides_text)
        if problem:
            self._show_config(Verdict(False, problem))
            return None
        if self._check_name():
            return None
        name = self.query_one("#name", Input).value.strip()
        if self.on_slurm:
            spec, problem = self.query_one(SlurmFields).spec()
            if problem:
                self._show_config(Verdict(False, problem))
                return None
            return LaunchRequest(config, name, self.settings.save_dir, overrides=tuple(overrides), slurm=spec)
        gpus, procs, problem = self.query_one(GpuPicker).selection()
        if problem:
            self._show_config(Verdict(False, problem))
            return None
        return LaunchRequest(config, name, self.settings.save_dir, gpus, procs, tuple(overrides))

    @work(thread=True, group="launch")
    def launch(self, request: LaunchRequest, queue: bool = False) -> None:
        """Validate fully, then launch or queue; `escape` meanwhile cancels both the check and the launch."""
        verdict = self._full_verdict(request.config, list(request.overrides), skip_if_cancelled=True)
        if verdict is None or get_current_worker().is_cancelled:
            return
        if not verdict.ok:
            self.post_message(LaunchFinished(request.name, verdict.message))
            return
        try:
            if queue:
                from tui.screens.queue_actions import queue_run

                self._place = queue_run(self.settings, request)
            else:
                backends.launch(self.settings, request)
        except LaunchError as exc:
            self.post_message(LaunchFinished(request.name, str(exc)))
            return
        if request.config.parent.resolve() == self.settings.configs_dir.resolve():  # not a run's own
            recent.remember(self.settings.cache_dir, request.config)
        self.post_message(LaunchFinished(request.name, None))

    @on(LaunchFinished)
    def launch_finished(self, message: LaunchFinished) -> None:
        self._busy = False
        if message.error:
            self._show_config(Verdict(False, message.error))
            self._check_name()
            return
        self.workers.cancel_node(self)
        if self._sweep_made:
            self.app.notify(self._sweep_made)
            self.dismiss(None)
            return
        queued = self._place is not None
        self.dismiss(LaunchResult(message.name, queued=queued, place=self._place or None))

    # ---- a sweep ----

    @property
    def sweeping(self) -> bool:
        return self.query_one("#sweep", Checkbox).value

    @on(Checkbox.Changed, "#sweep")
    def sweep_toggled(self) -> None:
        """The sweep's fields show under the overrides (the config list shrinks to make room), and the
        name becomes the sweep's."""
        self.query_one(SweepFields).set_class(not self.sweeping, "hidden")
        self.query_one("#dialog").set_class(self.sweeping, "sweeping")
        if not self._name_edited and self.config is not None:
            self._set_name(self._fresh_name(self.config))
        self._check_name()
        self.preview_sweep()

    def _prefill_objective(self, config: Path) -> None:
        """The objective's fields start from the config's `checkpoint.monitor` and `mode`."""
        try:
            metric, mode = sweeps.objective(config, [], None, None)
        except SweepError:
            metric, mode = "", "min"
        self.query_one(SweepFields).set_objective(metric, mode)

    @on(SweepFields.Changed)
    @on(SelectionList.SelectedChanged, "#gpu-list")
    @on(Input.Changed, "#procs, SlurmFields Input")
    def preview_sweep(self) -> None:
        """What the sweep would do with the fields and devices as they stand, or the first thing wrong."""
        if not self.sweeping:
            return
        fields = self.query_one(SweepFields)
        values = fields.values()
        if not values.space:
            fields.show_preview(f"space: {FORMS} a key", True)
            return
        devices, problem = self._trial_devices()
        try:
            if problem:
                raise SweepError(problem)
            sweep = sweeps.draft(values.space, values.sampler, values.trials, parallel=values.parallel,
                                 prune=Pruning() if values.prune else None, **devices)
        except SweepError as exc:
            fields.show_preview(sweeps.field_text(str(exc)), False)
            return
        picker = self.query_one(GpuPicker)
        machine = range(picker.query_one("#gpu-list", SelectionList).option_count) if picker.has_gpus else []
        fields.show_preview(sweeps.preview(sweep, None if self.on_slurm else list(machine)), True)

    def _trial_devices(self) -> tuple[dict[str, Any], str | None]:
        """Each trial's devices as `make.draft` takes them: the Slurm fields, or the picker's GPUs (that
        many each) or CPU processes; and what is wrong with them."""
        if self.on_slurm:
            spec, problem = self.query_one(SlurmFields).spec()
            return {"slurm": spec}, problem
        gpus, procs, problem = self.query_one(GpuPicker).selection()
        return {"gpus": len(gpus), "cpu_processes": procs}, problem

    @work(thread=True, group="launch")
    def make_sweep(self, request: LaunchRequest, values: SweepValues) -> None:
        """Build the sweep (`make.build_sweep`, as the CLI does), check its config and then every point
        with the dialog's warm checker, make it and start the runner; `escape` meanwhile cancels."""
        worker = get_current_worker()
        try:
            sweep = sweeps.build_sweep(
                request.save_dir, request.config, request.overrides, values.space, sampler=values.sampler,
                trials=values.trials, name=request.name, metric=values.metric, mode=values.mode,
                gpus=len(request.gpus), cpu_processes=request.cpu_processes, slurm=request.slurm,
                parallel=values.parallel, prune=Pruning() if values.prune else None,
                now=self.settings.clock())
        except SweepError as exc:
            self.post_message(LaunchFinished(request.name, sweeps.field_text(str(exc))))
            return
        verdict = self._full_verdict(request.config, list(request.overrides), skip_if_cancelled=True)
        if verdict is None or worker.is_cancelled:
            return
        problem = verdict.message if not verdict.ok else \
            sweeps.point_problem(sweep, self._checker, lambda: worker.is_cancelled)
        if worker.is_cancelled:
            return
        if problem:
            self.post_message(LaunchFinished(request.name, problem))
            return
        try:
            sweeps.make(request.save_dir, sweep)
            from tui.screens.queue_actions import start_runner

            start_runner(self.settings)
        except (SweepError, OSError) as exc:
            self.post_message(LaunchFinished(request.name, sweeps.field_text(str(exc))))
            return
        if request.config.parent.resolve() == self.settings.configs_dir.resolve():
            recent.remember(self.settings.cache_dir, request.config)
        self._sweep_made = f"sweep {sweep.name}: {sweeps.preview(sweep)}, queued"
        self.post_message(LaunchFinished(request.name, None))
