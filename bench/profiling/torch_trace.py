"""torch.profiler over a few training steps: a gzipped Chrome/Perfetto trace, op tables, memory.

The training step labels its stages with `record_function`, so the trace shows data_wait,
forward, ... as spans, and `by_stage` charges every op to the stage it ran in. A short
schedule (wait, warm-up, active) keeps the trace small: tens of MB per ten steps otherwise.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pandas as pd
import torch
from torch.profiler import ProfilerActivity, profile, schedule

from bench.profiling.options import TraceSchedule
from bench.results.paths import TRACE
from snn.names import STAGES

# Kineto prints a "USDT ... profiler_start/stop" line to stderr per session; it reads this level
# when the profiler first starts, and a user's own setting wins.
os.environ.setdefault("KINETO_LOG_LEVEL", "99")


def _write_gzipped_trace(path: Path):
    def handler(prof) -> None:
        plain = path.with_suffix("")  # trace.json
        prof.export_chrome_trace(str(plain))
        with open(plain, "rb") as source, gzip.open(path, "wb") as target:
            shutil.copyfileobj(source, target)
        os.remove(plain)
    return handler


def new_profiler(device: torch.device, trace_schedule: TraceSchedule, out: Path) -> profile:
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    return profile(
        activities=activities,
        schedule=schedule(wait=trace_schedule.wait, warmup=trace_schedule.warmup,
                          active=trace_schedule.active, repeat=1),
        on_trace_ready=_write_gzipped_trace(out / TRACE),
        record_shapes=True,
        profile_memory=True,
    )


def _device_us(event) -> float:
    return float(getattr(event, "self_device_time_total", 0.0) or 0.0)


def by_op(prof: profile, group_by_input_shape: bool = False) -> pd.DataFrame:
    rows = []
    for e in prof.key_averages(group_by_input_shape=group_by_input_shape):
        row = {"op": e.key, "calls": e.count, "self_cpu_us": e.self_cpu_time_total,
               "cpu_total_us": e.cpu_time_total, "self_device_us": _device_us(e),
               "self_cpu_memory_bytes": e.self_cpu_memory_usage}
        if group_by_input_shape:
            row["input_shapes"] = str(e.input_shapes)
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values("self_cpu_us", ascending=False) if rows else frame


def _stage_of(event) -> str | None:
    parent = event
    while parent is not None:
        if parent.name in STAGES:
            return parent.name
        parent = parent.cpu_parent
    return None


def by_stage(prof: profile) -> pd.DataFrame:
    """Self time of every op, summed per (stage label, op); ops outside a stage are 'none'."""
    totals: dict[tuple[str, str], list[float]] = {}
    for event in prof.events():
        if event.name in STAGES or event.name.startswith("ProfilerStep"):
            continue
        key = (_stage_of(event) or "none", event.name)
        calls, cpu, device = totals.get(key, (0, 0.0, 0.0))
        totals[key] = [calls + 1, cpu + event.self_cpu_time_total, device + _device_us(event)]
    frame = pd.DataFrame([{"stage": s, "op": op, "calls": c, "self_cpu_us": cpu, "self_device_us": d}
                          for (s, op), (c, cpu, d) in totals.items()],
                         columns=["stage", "op", "calls", "self_cpu_us", "self_device_us"])
    frame["percent_of_stage_cpu"] = 100 * frame["self_cpu_us"] / frame.groupby("stage")["self_cpu_us"].transform("sum")
    return frame.sort_values(["stage", "self_cpu_us"], ascending=[True, False])


def peak_tensor_memory(prof: profile) -> int:
    """Most bytes of CPU tensors alive at once during the active steps, relative to their start.

    The profiler books an allocation on the op that made it and a free on the op that released
    it (or on a "[memory]" event outside any op); summing each event's self memory in start-time
    order traces the live total. On CUDA, torch.cuda.max_memory_allocated is recorded as well.
    """
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak
