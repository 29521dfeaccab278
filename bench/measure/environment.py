"""What machine a measurement came from: captured with every result, checked before timing.

A figure without its machine is not comparable to anything, so every sweep group records the
host, CPU, GPU and driver, library versions, threads, denormal flushing, load and the git commit.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
from collections.abc import Iterable
from pathlib import Path

import torch

from bench.plugins.reference import load
from snn.threads import threads_in_force

BUSY_LOAD_PER_CORE = 0.5  # 1-minute load average per core above which timings get noisy
REPO_ROOT = Path(__file__).resolve().parents[2]


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # Windows has no load average
        return None


def cpu_mhz() -> float | None:
    """The cores' mean clock now, from /proc/cpuinfo (Linux; None elsewhere): a run that ran
    slower at a lower clock says so."""
    try:
        with open("/proc/cpuinfo") as info:
            clocks = [float(line.split(":")[1]) for line in info if line.startswith("cpu MHz")]
    except (OSError, ValueError, IndexError):
        return None
    return round(sum(clocks) / len(clocks), 1) if clocks else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _command_output(args: list[str], cwd: Path | None = None) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(repo: Path = REPO_ROOT) -> dict:
    """The commit the harness ran from, and whether the tree had uncommitted changes."""
    commit = _command_output(["git", "rev-parse", "HEAD"], cwd=repo)
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = _command_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo)
    return {"git_commit": commit, "git_dirty": bool(status)}


def gpu_info(device: torch.device) -> dict:
    if device.type != "cuda" or not torch.cuda.is_available():
        return {"gpu": None, "gpu_driver": None, "cuda": torch.version.cuda}
    index = device.index if device.index is not None else torch.cuda.current_device()
    driver = _command_output(["nvidia-smi", f"--id={index}", "--query-gpu=driver_version",
                              "--format=csv,noheader"])
    return {"gpu": torch.cuda.get_device_name(index), "gpu_driver": driver,
            "cuda": torch.version.cuda}


def capture_environment(device: torch.device, flush_denormal: bool, data: dict | None = None,
                        plugins: Iterable[str] = ()) -> dict:
    """The machine, software and data as they are now (threads as torch has them set): the one
    environment every row kind records (timing groups, study runs, profiles), so a figure from
    any of them names the same fields (bench.results.rows.ENV_FIELDS). `data`: the data set's
    state (bench.measure.data.data_state); None when no data was read."""
    import numba  # exact DeepR's and the fused forward's CPU kernels
    import numpy as np
    import snntorch
    import tonic

    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "device": str(device),
        **gpu_info(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "snntorch": snntorch.__version__,
        "tonic": tonic.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        # what the compiled kernels ran with: NUMBA_NUM_THREADS and NUMBA_DISABLE_JIT change it
        # without changing torch's threads (without the JIT a step takes seconds)
        "numba_threads": numba.get_num_threads(),
        "numba_jit": not numba.config.DISABLE_JIT,
        "flush_denormal": flush_denormal,
        "load_avg_1m": load_average(),
        "cpu_mhz": cpu_mhz(),
        "process_id": os.getpid(),
        **(data or NO_DATA),
        # the source each plug-in came from (bench.plugins.reference): a resume into a store
        # whose digest differs is warned about, since the same id now names other code
        "plugin_digests": {ref: load(ref, "plug-in")[1] for ref in dict.fromkeys(plugins)},
        **git_state(),
    }


NO_DATA = {"data_root": None, "synthetic_data": None, "data_fingerprint": None}


def busy_warning(load: float | None = None, cores: int | None = None) -> str | None:
    """A warning when other work already loads the machine, else None."""
    load = load_average() if load is None else load
    cores = cores or os.cpu_count() or 1
    if load is None or load / cores <= BUSY_LOAD_PER_CORE:
        return None
    return (f"the machine is busy before timing starts: 1-minute load average {load:.2f} on "
            f"{cores} core(s). Timings will be noisy; watch the 'unstable' flags, or stop the "
            "other work and rerun (completed points are kept)")


def oversubscription_warning(threads: int, workers: int, cores: int | None = None) -> str | None:
    """A warning when a point asks for more busy threads (torch's intra-op threads, plus one per
    DataLoader worker process) than the machine has cores, else None."""
    cores = cores or os.cpu_count() or 1
    if threads + workers <= cores:
        return None
    return (f"{threads} torch thread(s) + {workers} DataLoader worker(s) on {cores} core(s): they "
            "compete for the cores, so steps slow down (64 threads on 2 cores made a step 114x "
            f"slower); set threads to at most {max(1, cores - workers)} to time without contention")


def benchmark_machine_info() -> dict:
    """What pytest-benchmark's machine_info lacks for comparing runs across machines."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return {"cpu_model": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            **threads_in_force(), **gpu_info(device)}
