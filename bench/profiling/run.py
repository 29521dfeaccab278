"""Profile one point: an unprofiled pass, a line_profiler pass, a torch.profiler pass.

Each pass takes a fresh DataLoader and its own warm-up, so the worker hooks of the line pass
never touch the other passes, and the unprofiled pass gives the step time the overheads are
measured against. None of this writes to a sweep's timing store.

    out/lines.txt            line_profiler's text report (main process + every worker)
    out/lines.csv            the same, tidy: area, function, file, line, hits, seconds, percent
    out/trace.json.gz        Chrome/Perfetto trace of the active steps (open in ui.perfetto.dev)
    out/ops.csv              key_averages by op
    out/ops_by_shape.csv     key_averages by op and input shape
    out/ops_by_stage.csv     self time per op within each stage label
    out/profile.json         bench.results.rows.ProfileSummary: settings, environment, step times,
                             overheads, peak memory, file list
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from bench.config.point_config import PointConfig, point_config
from bench.config.settings import Settings
from bench.errors import SettingError
from bench.measure.data import data_state, open_dataset
from bench.measure.environment import capture_environment
from bench.measure.point import (
    Batches,
    PointSession,
    apply_runtime,
    open_batches,
)
from bench.measure.timing import device_sync
from bench.profiling import lines, torch_trace
from bench.profiling.options import DEFAULT_PROFILE, ProfileOptions
from bench.profiling.targets import AREAS, point_targets, portable
from bench.results.paths import (
    LINE_WORKERS,
    LINES_CSV,
    LINES_TXT,
    OPS_BY_SHAPE_CSV,
    OPS_BY_STAGE_CSV,
    OPS_CSV,
    PROFILE_FILES,
    PROFILE_SUMMARY,
)
from bench.results.rows import ProfileSummary
from snn.files import replace_folder
from snn.train import NullTimer


def _steps(session: PointSession, batches: Batches, device: torch.device, count: int,
           after_each=None) -> list[float]:
    sync = device_sync(device)
    seconds = []
    for _ in range(count):
        sync()
        start = time.perf_counter()
        session.step(batches, NullTimer())
        sync()
        seconds.append(time.perf_counter() - start)
        if after_each is not None:
            after_each()
    return seconds


def _warm_batches(cfg: PointConfig, session: PointSession, data, worker_init_fn=None) -> Batches:
    batches, _ = open_batches(cfg, worker_init_fn=worker_init_fn, data=data)
    for _ in range(max(cfg.warmup_steps, 1)):
        session.warm_up(batches)
    return batches


def _line_pass(cfg, session, data, device, options: ProfileOptions, out: Path) -> dict:
    worker_dir = out / LINE_WORKERS
    shutil.rmtree(worker_dir, ignore_errors=True)
    worker_dir.mkdir(parents=True)
    found = point_targets(session.spec, data, session.rewiring)
    in_workers = cfg.loader.num_workers > 0
    hook = lines.WorkerLineProfiler(str(worker_dir), portable(found)["data"]) if in_workers else None
    batches = _warm_batches(cfg, session, data, hook)
    main_areas = [a for a in AREAS if not (in_workers and a == "data")]
    profiler = lines.start(found, main_areas)
    try:
        seconds = _steps(session, batches, device, options.line_steps)
    finally:
        profiler.disable_by_count()
        batches.close()  # workers exit and write their stats
    stats, workers = lines.merge(profiler.get_stats(), worker_dir)
    (out / LINES_TXT).write_text(lines.text(stats))
    lines.table(stats, found, AREAS).to_csv(out / LINES_CSV, index=False)
    return {"step_s": seconds, "worker_stats_merged": workers, "timer_unit_s": stats.unit}


def _trace_pass(cfg, session, data, device, options: ProfileOptions, out: Path) -> dict:
    batches = _warm_batches(cfg, session, data)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    schedule = options.trace
    profiler = torch_trace.new_profiler(device, schedule, out)
    with profiler:
        seconds = _steps(session, batches, device, schedule.steps, after_each=profiler.step)
    batches.close()
    torch_trace.by_op(profiler).to_csv(out / OPS_CSV, index=False)
    torch_trace.by_op(profiler, group_by_input_shape=True).to_csv(out / OPS_BY_SHAPE_CSV, index=False)
    torch_trace.by_stage(profiler).to_csv(out / OPS_BY_STAGE_CSV, index=False)
    memory = {"peak_tensor_memory_bytes": torch_trace.peak_tensor_memory(profiler)}
    if device.type == "cuda":
        memory["cuda_max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
    # the active steps are the last `active` ones: wait and warm-up steps run unrecorded
    return {"step_s": seconds[-schedule.active:], **memory}


def profile_point(settings: Settings, out: str | Path,
                  options: ProfileOptions = DEFAULT_PROFILE) -> ProfileSummary:
    """Run the three passes on one point (its normalised settings) and write the files listed in
    this module's doc; returns the summary also written as profile.json."""
    cfg = point_config(settings)
    with _whole_folder(Path(out)) as staging:
        return _profile_into(cfg, settings, staging, options)


def install_profile(files: dict[str, bytes], out: str | Path) -> None:
    """Write a profile made elsewhere (on a Ray node: its file names and contents) into `out`,
    replacing the folder whole as profile_point does."""
    with _whole_folder(Path(out)) as staging:
        for name, content in files.items():
            (staging / Path(name).name).write_bytes(content)  # flat: a name, never a path


@contextmanager
def _whole_folder(out: Path) -> Iterator[Path]:
    """A staging folder that replaces `out` in one rename when the block succeeds, so no reader
    ever sees half a profile (an old profile.json beside new files, a truncated trace); a
    failure leaves nothing behind."""
    _check_profile_folder(out)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        replace_folder(staging, out, retired=out.parent / f".{out.name}.old-{os.getpid()}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_profile_folder(out: Path) -> None:
    """A profile replaces its folder whole: refuse one holding anything but profile outputs, and
    a path that is a file, before any profiling."""
    if out.exists() and not out.is_dir():
        raise SettingError(f"{out} is a file: a profile is a folder of files; pass a new or empty "
                           "folder as --out")
    if out.exists():
        other = sorted(p.name for p in out.iterdir() if p.name not in PROFILE_FILES)
        if other:
            raise SettingError(f"{out} holds files that are not a profile's ({', '.join(other[:5])}); "
                               "a profile replaces its whole folder: pass a new or empty --out")


def _profile_into(cfg: PointConfig, settings: Settings, out: Path, options: ProfileOptions) -> ProfileSummary:
    device = apply_runtime(cfg)
    data = open_dataset(cfg)
    session = PointSession(cfg, device, data)
    batches = _warm_batches(cfg, session, data)
    plain = _steps(session, batches, device, options.plain_steps)
    batches.close()
    line = _line_pass(cfg, session, data, device, options, out)
    trace = _trace_pass(cfg, session, data, device, options, out)
    plain_median = float(np.median(plain))
    summary = ProfileSummary(
        point_id=settings.id,
        settings=settings,
        environment=capture_environment(device, cfg.flush_denormal, data_state(data), cfg.plugins()),
        unprofiled_step_s=plain,
        line_step_s=line["step_s"],
        trace_step_s=trace["step_s"],
        worker_stats_merged=line["worker_stats_merged"],
        timer_unit_s=line["timer_unit_s"],
        peak_tensor_memory_bytes=trace["peak_tensor_memory_bytes"],
        cuda_max_memory_allocated_bytes=trace.get("cuda_max_memory_allocated_bytes"),
        line_overhead=float(np.median(line["step_s"])) / plain_median,  # profiled / unprofiled
        trace_overhead=float(np.median(trace["step_s"])) / plain_median,
        files=sorted(p.name for p in out.iterdir() if p.is_file() and p.name != PROFILE_SUMMARY)
        + [PROFILE_SUMMARY],
    )
    (out / PROFILE_SUMMARY).write_text(summary.to_json())
    shutil.rmtree(out / LINE_WORKERS, ignore_errors=True)  # merged into lines.*
    return summary
