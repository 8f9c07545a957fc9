"""Plain-text formatting for the run view (header, metric table, GPU and process rows).

Textual-free, so the wording is tested without an app; widgets only add colour.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

from tui.gpu_history import GpuHistory, spark
from tui.gpus import GpuReading, gib
from tui.procs import ProcRow
from tui.run_data import MetricRow, Progress
from tui.runs import STATUS_SYMBOLS, duration_text

Localtime = Callable[[float], time.struct_time]


def advance(p: Progress, seconds: float) -> Progress:
    """The progress `seconds` after it was computed: a running run's clock keeps going."""
    if p.eta_s is None or seconds <= 0:
        return p
    elapsed = None if p.elapsed_s is None else p.elapsed_s + seconds
    return replace(p, elapsed_s=elapsed, eta_s=max(0.0, p.eta_s - seconds))


def bar(fraction: float | None, width: int) -> str:
    if fraction is None or width <= 0:
        return ""
    eighths = round(min(1.0, max(0.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + ("" if part == 0 else " ▏▎▍▌▋▊▉"[part])
    return text.ljust(width, "░")


def title_line(name: str, status: str, config: str, host: str, gpus: str) -> str:
    symbol = STATUS_SYMBOLS.get(status, "·")
    parts = [f"{symbol} {status}", name, config and f"config {config}", host and f"host {host}",
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


def number(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.4g}"


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
