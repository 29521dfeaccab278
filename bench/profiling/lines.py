"""line_profiler passes: the main process and every DataLoader worker, merged into one table.

A profiler in the main process cannot see a worker's `__getitem__`, so each worker starts its
own (`WorkerLineProfiler`, the loader's `worker_init_fn`) and writes its stats when it exits;
`merge` adds them to the main process's stats. Times are converted with the unit stored in the
stats (1e-9 s in line_profiler 5, 1e-6 s in older releases), never an assumed one.
"""

from __future__ import annotations

import io
import linecache
import os
from dataclasses import dataclass
from multiprocessing import util as mp_util
from pathlib import Path

import pandas as pd
from line_profiler import LineProfiler
from line_profiler.line_profiler import LineStats, show_text

from bench.profiling import targets

WORKER_STATS_GLOB = "worker-*.lprof"


def start(found: targets.Targets, areas) -> LineProfiler:
    profiler = LineProfiler(*targets.functions(found, areas))
    profiler.enable_by_count()
    return profiler


def _dump(profiler: LineProfiler, path: str) -> None:
    profiler.disable_by_count()
    profiler.get_stats().to_file(path)


@dataclass(frozen=True)
class WorkerLineProfiler:
    """A DataLoader `worker_init_fn`: profile the data-loading functions in this worker and
    write the stats to `directory/worker-<pid>.lprof` when the worker exits. Picklable, so it
    works with the fork and spawn start methods alike."""

    directory: str
    data_targets: tuple[str, ...]  # import paths (bench.profiling.targets.portable)

    def __call__(self, worker_id: int) -> None:
        profiler = start({"data": self.data_targets}, ["data"])
        path = os.path.join(self.directory, f"worker-{os.getpid()}.lprof")
        # multiprocessing runs these finalisers when the worker process ends normally; a
        # worker that is killed writes nothing (and the merge then counts fewer workers).
        mp_util.Finalize(None, _dump, args=(profiler, path), exitpriority=10)


def merge(main: LineStats, directory: Path) -> tuple[LineStats, int]:
    """Main-process stats plus every worker's; and how many worker files were merged."""
    files = sorted(Path(directory).glob(WORKER_STATS_GLOB))
    if not files:
        return main, 0
    return main + LineStats.from_files(*files), len(files)


def table(stats: LineStats, found: targets.Targets, areas) -> pd.DataFrame:
    """One row per profiled line: area, function, file, line, hits, total and per-hit seconds,
    percent of its function's time, and the source line."""
    labels = targets.area_of_function(found, areas)
    rows = []
    for (filename, first_line, function), lines in stats.timings.items():
        function_total = sum(t for _, _, t in lines)
        for line, hits, total in lines:
            rows.append({
                "area": labels.get((filename, first_line), "other"),
                "function": function, "file": filename, "line": line, "hits": hits,
                "total_s": total * stats.unit,
                "per_hit_s": total * stats.unit / hits if hits else 0.0,
                "percent": 100.0 * total / function_total if function_total else 0.0,
                "contents": linecache.getline(filename, line).rstrip(),
            })
    columns = ["area", "function", "file", "line", "hits", "total_s", "per_hit_s", "percent", "contents"]
    return pd.DataFrame(rows, columns=columns).sort_values(["area", "file", "function", "line"])


def text(stats: LineStats) -> str:
    """The familiar report (Line #, Hits, Time, Per Hit, % Time, Line Contents), in µs."""
    stream = io.StringIO()
    show_text(stats.timings, stats.unit, output_unit=1e-6, stream=stream, stripzeros=True)
    return stream.getvalue()
