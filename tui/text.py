"""Every plain-text rendering of the TUI: table cells, durations and sizes, the run view's lines, GPU
and process rows, legend names. Plain strings only, so the wording is tested without an app; widgets
and screens add colour (`STATUS_STYLES` names it) and nothing else.

Textual-free; the data types it formats are imported for annotations only, so the runs screen's start
loads none of the run view's modules.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.live.data import MetricRow, Progress
    from tui.run.files import Reproduce
    from tui.run.processes import ProcRow
    from tui.system.gpu_history import GpuHistory
    from tui.system.gpus import GpuReading, HostReading
    from tui.table.rows import RunRow

Localtime = Callable[[float], time.struct_time]


# ---- statuses ----

STATUS_SYMBOLS = {
    "queued": "⧗", "starting": "◌", "running": "▶", "finished": "✔", "failed": "✘", "stopped": "■",
    "pruned": "✂", "lost": "?", "pending": "…", "cancelled": "⊘", "empty": "·", "not a run": "-",
    "damaged": "!",
}
"""Every status keeps its own symbol, so the table reads without colour (`NO_COLOR`)."""
STATUS_STYLES = {
    "queued": "bright_blue", "starting": "green", "running": "bold green", "finished": "cyan",
    "failed": "bold red", "stopped": "yellow", "pruned": "yellow4", "lost": "bold magenta", "pending": "blue",
    "cancelled": "dark_orange", "empty": "dim", "not a run": "dim", "damaged": "red",
}
"""The Rich style of each status, wherever a status is shown."""


_UNPRINTABLE = {**{c: "\ufffd" for c in (*range(32), 127)}, 9: " ", 10: "␤", 13: "␤", 0x85: "␤",
                 0x2028: "␤", 0x2029: "␤"}


def printable(text: str) -> str:
    """`text` on one line: a newline (a directory may be named `a\nb`) shows as `␤`, any other control
    character as `\ufffd`, so a name or a reason never breaks a row or a header."""
    return text.translate(_UNPRINTABLE)


def problem_text(row: RunRow) -> str:
    """The line under the runs table for the selected row: why it is damaged or its log's first bad
    line (`! events.jsonl: not a regular file (a FIFO)`), else why its meta.yaml cannot be read, else
    why it failed before it could start (its queue's runner could not launch it, or the launch's child
    died first: no event tells it); empty when there is nothing wrong."""
    if row.problem:
        return printable(f"! {row.problem}")
    if row.meta_error:
        return printable(f"!meta {row.meta_error}")
    return printable(f"✘ {row.error}") if row.status == "failed" and row.epoch is None and row.error else ""


def status_text(row: RunRow) -> str:
    symbol = STATUS_SYMBOLS.get(row.status, "·")
    mark = "!" if row.bad_lines and row.status != "damaged" else ""
    return f"{symbol} {row.status}{mark}"


# ---- numbers, durations, sizes, bars ----

def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{hours // 24}d{hours % 24:02d}h"
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def size_text(n: int) -> str:
    """Bytes in binary units: `512 B`, `3.5 MiB`."""
    if n < 1024:
        return f"{n} B"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def gib(n: int) -> str:
    return f"{n / 2**30:.1f}"


def number(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.4g}"


def bar(fraction: float | None, width: int) -> str:
    if fraction is None or width <= 0:
        return ""
    eighths = round(min(1.0, max(0.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + ("" if part == 0 else " ▏▎▍▌▋▊▉"[part])
    return text.ljust(width, "░")


BARS = "▁▂▃▄▅▆▇█"


def spark(values: deque[float] | list[float], width: int, top: float = 100.0) -> str:
    """The last `width` percentages as block characters, padded on the left."""
    tail = list(values)[-width:] if width > 0 else []
    cells = [BARS[min(len(BARS) - 1, max(0, int(v / top * len(BARS))))] for v in tail]
    return "".join(cells).rjust(width)


def clip(text: str, width: int, middle: bool = False) -> str:
    """Fit `text` in `width` cells with an ellipsis; `middle` keeps the end (a name's timestamp)."""
    if len(text) <= width:
        return text
    if middle:
        tail = (width - 1) * 2 // 3
        return text[: width - 1 - tail] + "…" + text[-tail:]
    return text[: width - 1] + "…"


# ---- the runs table ----

NAME_WIDTH, CONFIG_WIDTH, METRIC_WIDTH, GPUS_WIDTH = 24, 14, 13, 7
COLUMNS = ("name", "status", "epoch", "ETA", "val", "config", "GPUs", "started", "time")
"""80 columns first: name, status, progress, ETA and the validation metric fit 80×24 (78 cells with
the table's padding); the rest is to their right."""
# Fixed widths: every cell is clipped to these, so the table never measures 10,000 rows.
COLUMN_WIDTHS = (NAME_WIDTH, 11, 13, 7, METRIC_WIDTH, CONFIG_WIDTH, GPUS_WIDTH, 11, 8)


def epoch_text(row: RunRow, width: int = 8) -> str:
    """`3/10 ██▍░░░░░` — a bar of `width` cells with eighth-cell resolution."""
    if row.epoch is None or not row.max_epochs:
        return ""
    return f"{row.epoch}/{row.max_epochs} {bar(row.epoch / row.max_epochs, width)}"


def eta_text(row: RunRow, now: float) -> str:
    if row.eta_s is None:
        return ""
    since = now - row.running_since if row.running_since else 0.0
    return duration_text(max(0.0, row.eta_s - max(0.0, since)))


def metric_text(row: RunRow) -> str:
    if row.metric is None:
        return ""
    name, value = row.metric
    return f"{name} {value:.4g}"


def started_text(row: RunRow, localtime: Localtime = time.localtime) -> str:
    return "" if row.started is None else time.strftime("%m-%d %H:%M", localtime(row.started))


def elapsed_text(row: RunRow, now: float) -> str:
    """Duration so far; a running row keeps counting between events."""
    if row.elapsed_s is None:
        return ""
    extra = now - row.running_since if row.running_since else 0.0
    return duration_text(row.elapsed_s + max(0.0, extra))


def full_name_text(row: RunRow) -> str:
    """The name and every tag, for the line under the table when the name cell clips them (else empty)."""
    if "…" not in name_text(row):
        return ""
    return printable(" ".join([row.name, *(f"#{tag}" for tag in row.tags)]))


def name_text(row: RunRow, width: int = NAME_WIDTH) -> str:
    """The name, then its tags (`#baseline`), `✎` for a note and `!meta` for an unreadable meta.yaml;
    the marks take at most half the cell, so the name keeps its end (a timestamp)."""
    marks = " ".join(f"#{tag}" for tag in row.tags)
    marks += " ✎" * bool(row.note) + " !meta" * bool(row.meta_error)
    name = printable(row.name)
    if not marks:
        return clip(name, width, middle=True)
    marks = clip(marks.strip(), width // 2)
    return f"{clip(name, width - len(marks) - 1, middle=True)} {marks}"


def place_text(row: RunRow) -> str:
    """A queued run's place in the queue, where a run shows its progress: `#2 in queue`."""
    return "" if row.queue_place is None else f"#{row.queue_place} in queue"


def row_cells(row: RunRow, now: float) -> tuple[str, ...]:
    """The table's columns, in order (see `COLUMNS`); a queued run shows its place for its epoch and
    how long it has waited (since it was queued, its `started`) for its time."""
    if row.status == "queued":
        return (name_text(row), status_text(row), place_text(row), "", "", clip(row.config, CONFIG_WIDTH),
                clip(row.gpus, GPUS_WIDTH), started_text(row),
                duration_text(now - row.started) if row.started is not None else "")
    return (
        name_text(row), status_text(row), epoch_text(row), eta_text(row, now),
        clip(metric_text(row), METRIC_WIDTH), clip(row.config, CONFIG_WIDTH),
        clip(row.gpus, GPUS_WIDTH), started_text(row), elapsed_text(row, now),
    )


def wanted_text(request: dict[str, Any]) -> str:
    """The GPUs cell of a queued run: what its `queued.request` waits for (`1 GPU`, `2 GPUs`, `cpu`,
    `cpu×4`, or `slurm`: Slurm places it)."""
    if request.get("slurm"):
        return "slurm"
    gpus, procs = request.get("gpus"), request.get("cpu_processes")
    if isinstance(gpus, int) and not isinstance(gpus, bool) and gpus > 0:
        return f"{gpus} GPU{'s' if gpus > 1 else ''}"
    many = isinstance(procs, int) and not isinstance(procs, bool) and procs > 1
    return f"cpu×{procs}" if many else "cpu"


def gpus_text(run_json: dict[str, Any] | None, devices: Any) -> str:
    """The GPUs cell: the launch's devices (`run.json`), else the `start` event's."""
    gpus = (run_json or {}).get("gpus")
    if gpus is None:
        gpus = devices
    if isinstance(gpus, (list, tuple)):
        return ",".join(str(g) for g in gpus)
    return "" if gpus is None else str(gpus)


def error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return ""
    return f"{error.get('type') or 'Error'}: {error.get('message') or ''}".strip()


# ---- the run view, the GPU screen, the launch dialog's GPU picker ----

def title_line(name: str, status: str, config: str, host: str, gpus: str) -> str:
    symbol = STATUS_SYMBOLS.get(status, "·")
    parts = [f"{symbol} {status}", printable(name), config and f"config {config}", host and f"host {host}",
             gpus and f"GPUs {gpus}"]
    return "  ".join(p for p in parts if p)


def progress_line(p: Progress, width: int) -> str:
    epoch = "" if p.epoch is None else f"epoch {p.epoch + 1}/{p.max_epochs or '?'}"
    step = "" if p.step is None else f"step {p.step}/{p.total_steps or '?'}"
    pct = "" if p.fraction is None else f"{100 * p.fraction:3.0f}%"
    text = "  ".join(t for t in (epoch, step) if t)
    room = width - len(text) - len(pct) - 4
    return f"{text}  {bar(p.fraction, room)} {pct}".strip() if room >= 4 else f"{text} {pct}".strip()


def timing_line(p: Progress, now: float, localtime: Localtime = time.localtime) -> str:
    parts = []
    if p.elapsed_s is not None:
        parts.append(f"elapsed {duration_text(p.elapsed_s)}")
    if p.eta_s is not None:
        parts.append(f"ETA {duration_text(p.eta_s)}")
        finish = now + p.eta_s
        fmt = "%H:%M:%S" if finish - now < 86_400 else "%a %H:%M"
        parts.append(f"finish {time.strftime(fmt, localtime(finish))}")
    if p.samples_per_s:
        parts.append(f"{p.samples_per_s:,.0f} samples/s")
    if p.eta_s is None and p.ended_at is not None:
        parts.append(f"ended {time.strftime('%Y-%m-%d %H:%M', localtime(p.ended_at))}")
    return "  ·  ".join(parts)


def error_line(error: dict[str, object] | None) -> str:
    if not error:
        return ""
    message = str(error.get("message") or "").strip().splitlines()
    return f"{error.get('type') or 'Error'}: {message[0] if message else ''}".strip()


def metric_cells(row: MetricRow) -> tuple[str, str, str]:
    """(metric, latest, best @ epoch) for the table beside the plot."""
    latest = number(row.latest.y) if row.latest else ""
    best = ""
    if row.best is not None:
        at = f" @{row.best.epoch + 1}" if row.best.epoch is not None else ""
        best = f"{number(row.best.y)}{at}"
    arrow = "↓" if row.mode == "min" else "↑"
    return f"{arrow}{row.label}", latest, best


def gpu_line(g: GpuReading, history: GpuHistory, spark_width: int = 10) -> str:
    util = "  --" if g.util_percent is None else f"{g.util_percent:3.0f}%"
    temp = "" if g.temperature_c is None else f"{g.temperature_c:.0f}°C"
    power = ""
    if g.power_w is not None:
        power = f"{g.power_w:.0f}" + (f"/{g.power_limit_w:.0f} W" if g.power_limit_w else " W")
    trend = spark(history.util.get(g.index, []), spark_width)
    mem = f"{gib(g.mem_used)}/{gib(g.mem_total)} GiB"
    return f"GPU{g.index} {util} {trend}  mem {mem:>15}  {temp:>5}  {power}".rstrip()


def host_lines(history: GpuHistory, reason: str | None, spark_width: int = 10) -> list[str]:
    sample = history.latest
    if sample is None:
        return ["reading CPU and memory…"]
    h = sample.host
    lines = [f"{reason}: CPU and RAM shown instead"] if reason else []
    lines.append(f"CPU {h.cpu_percent:3.0f}% {spark(history.cpu, spark_width)}  of {h.cpu_count} cores")
    lines.append(f"RAM {h.mem_used / h.mem_total * 100 if h.mem_total else 0:3.0f}% "
                 f"{spark(history.ram, spark_width)}  {gib(h.mem_used)}/{gib(h.mem_total)} GiB")
    return lines


def proc_cells(row: ProcRow) -> tuple[str, ...]:
    gpu = "" if row.gpu_mem is None else f"{row.gpu_mem / 2**20:,.0f} MiB"
    return (str(row.pid), row.role, row.name[:20], f"{row.cpu_percent:5.1f}",
            f"{row.rss / 2**20:,.0f} MiB", gpu)


def run_gpu_indices(gpus: str) -> set[int]:
    """GPU indices from the run's `GPUs` text ("0,1"); empty for CPU runs."""
    return {int(p) for p in gpus.replace(" ", "").split(",") if p.isdigit()}


def gpu_label(g: GpuReading) -> str:
    util = "--" if g.util_percent is None else f"{g.util_percent:3.0f}%"
    return f"{g.index}: {g.name[:22]:22} {util}  {gib(g.mem_used)}/{gib(g.mem_total)} GiB"


def host_label(h: HostReading) -> str:
    return f"CPU {h.cpu_percent:3.0f}% of {h.cpu_count} cores · RAM {gib(h.mem_used)}/{gib(h.mem_total)} GiB"


def reproduce_text(card: Reproduce) -> str:
    dirty = {True: " (dirty: uncommitted changes, see the diff)", False: " (clean)", None: ""}[card.dirty]
    lines = [
        "command",
        f"  {card.command or '(unknown: no run.json or start event)'}",
        "resume",
        f"  {card.resume_command}",
        "git commit",
        f"  {card.commit or '(not in a git repository)'}{dirty}",
        "code snapshot",
        f"  {card.snapshot or '(none)'}",
        "config",
        f"  {card.config}",
    ]
    if card.diff:
        lines += ["uncommitted diff", f"  {card.diff}"]
    return "\n".join(lines)


# ---- the compare screen ----

LEGEND_WIDTH = 15


def legend_names(names: list[str], width: int = LEGEND_WIDTH) -> list[str]:
    """Names clipped to `width` (keeping their end: the timestamp), numbered where two would clash."""
    clipped = [clip(name, width, middle=True) for name in names]
    if len(set(clipped)) == len(clipped):
        return clipped
    return [f"{i + 1}:{clip(name, width - 2, middle=True)}" for i, name in enumerate(names)]


# ---- sweeps (`torchx-tui sweep show` and the sweep view) ----

def short_keys(keys: Iterable[str]) -> dict[str, str]:
    """Each swept key by its last part (`lr`), or in full where two keys share it."""
    keys = list(keys)
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: short if last.count(short) == 1 else k for k, short in zip(keys, last, strict=True)}


def objective_text(value: float | None) -> str:
    """A trial's objective: six significant digits, `-` for none."""
    return "-" if value is None else f"{value:.6g}"


def param_text(value: Any) -> str:
    """A trial's value of one key: a float to four significant digits, anything else as it is."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)
