"""Did the machine disturb a run? Evidence read while it ran, and the verdict.

A benchmark on a laptop shares the cores with a browser, a build, an indexer. A step that waited
for a core is slower for a reason that is not the code's, and a run of such steps gives a
confident figure that a rerun will not reproduce. Each group run therefore records, over its
timed steps:

- the CPU time other processes used, per core-second available: the machine's busy time
  (psutil.cpu_times, every OS) less this process's and its DataLoader workers' own; measured
  here, 0.0-0.3% on a quiet 2-core VM and 32-39% with one busy loop beside a 2-thread step;
- the time this process's threads spent ready to run but waiting for a core (Linux's
  /proc/self/task/*/schedstat), per second of the point's threads: 0.3-0.6% quiet here, 35-38%
  beside the busy loop. Other processes' CPU alone is no harm on a machine with cores to spare
  (a Ray node running several groups at once), and waiting alone may be the point's own
  DataLoader workers crowding its threads (warned about as oversubscription): the two together
  are a competitor taking this run's cores. Where the wait is not reported, the CPU share decides;
- the time the hypervisor stole from this VM (Linux's steal time), per core-second;
- this process tree's CPU seconds per wall second (what its threads got);
- a short fixed kernel (matrix products on the point's threads), timed before the group's
  DataLoader starts (its workers' start-up is the group's own load) and after it stops: a machine
  that slowed down during the run (a competitor, a throttled clock) shows it.

A run beyond any of the limits below is *disturbed*: the sweep runs it again, up to the
`disturbed_reruns` setting, and a run still disturbed is stored with its evidence and kept out
of the report's answers ("not measured precisely: the machine was busy").
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import torch

FOREIGN_CPU_LIMIT = 0.10  # other processes' share of the cores during the timed steps
WAIT_LIMIT = 0.05  # this process's threads' run-queue wait, per second of the point's threads
STEAL_LIMIT = 0.05  # the hypervisor's share of the cores during the timed steps
CALIBRATION_LIMIT = 0.20  # the fixed kernel's time after the run over its time before, less 1
CALIBRATION_SIZE = 512  # 1.25 ms a product on 2 cores here
CALIBRATION_BLOCKS, CALIBRATION_PER_BLOCK = 5, 8  # 50 ms a reading


@dataclass(frozen=True)
class Usage:
    """CPU time, machine-wide and this process tree's, at one moment."""

    wall: float  # time.perf_counter()
    busy: float  # the machine's busy CPU seconds, over all cores
    steal: float | None  # seconds stolen by the hypervisor (None: not reported here)
    own: float  # this process's and its children's CPU seconds
    wait: float | None = None  # seconds this process's threads waited for a core (None: not reported)

    @classmethod
    def now(cls) -> Usage:
        machine = psutil.cpu_times()._asdict()
        # guest time is already inside user time on Linux; idle and I/O wait are not busy
        total = sum(v for k, v in machine.items() if k not in ("guest", "guest_nice"))
        busy = total - machine.get("idle", 0.0) - machine.get("iowait", 0.0)
        return cls(wall=time.perf_counter(), busy=busy, steal=machine.get("steal"), own=_own_cpu(),
                   wait=_runqueue_wait())


def _runqueue_wait() -> float | None:
    """Seconds this process's threads have spent runnable but not running (Linux schedstat's
    second field, nanoseconds); None where the OS does not report it."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    if not tasks.is_dir():
        return None
    total = 0
    for task in tasks.iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):  # a thread that ended between listing and reading
            continue
    return total / 1e9


def _own_cpu() -> float:
    me = psutil.Process()
    times = me.cpu_times()
    seconds = times.user + times.system + times.children_user + times.children_system
    for child in me.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.Error:  # it ended between the listing and the read
            continue
        seconds += child_times.user + child_times.system
    return seconds


def calibrate(blocks: int = CALIBRATION_BLOCKS, per_block: int = CALIBRATION_PER_BLOCK) -> float:
    """The time of one fixed matrix product on torch's threads now, in seconds: the fastest of
    `blocks` blocks' means of `per_block` back-to-back products (three untimed products first).
    The same work every time, so two readings differ only by what the machine gave them. A
    block's mean, not one product: a competitor takes the cores in slices of a few milliseconds,
    which single 1-ms products step around (a median of them did not move beside a busy loop);
    the fastest block, not all of them: the cores' own leftovers (a worker process exiting,
    OpenMP threads spinning down after the last step) fade within a block or two, and a
    competitor does not (here: 1.25 ms quiet, 2.3-4.0 ms beside one busy loop)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(CALIBRATION_SIZE, CALIBRATION_SIZE, generator=generator)
    for _ in range(3):  # the thread pool's start and the first products' page faults: untimed
        a @ a
    fastest = float("inf")
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(per_block):
            a @ a
        fastest = min(fastest, (time.perf_counter() - start) / per_block)
    return fastest


def evidence(before: Usage, after: Usage, calibration_before: float, calibration_after: float,
             threads: int, cores: int | None = None) -> dict:
    """What the machine did during the timed steps (between `before` and `after`) to a point
    running `threads` threads."""
    cores = cores or os.cpu_count() or 1
    wall = max(after.wall - before.wall, 1e-9)
    own = after.own - before.own
    foreign = max(0.0, (after.busy - before.busy) - own) / (wall * cores)
    steal = (None if before.steal is None or after.steal is None
             else max(0.0, after.steal - before.steal) / (wall * cores))
    wait = (None if before.wait is None or after.wait is None
            else max(0.0, after.wait - before.wait) / (wall * threads))
    return {"timed_wall_s": round(wall, 4), "foreign_cpu_share": round(foreign, 4),
            "runqueue_wait_share": None if wait is None else round(wait, 4),
            "steal_share": None if steal is None else round(steal, 4),
            "own_cpu_per_wall": round(own / wall, 3), "cores": cores, "threads": threads,
            "calibration_before_s": calibration_before, "calibration_after_s": calibration_after}


def disturbance(found: dict) -> str:
    """Why the run counts as disturbed, each reason with its evidence and limit, joined by "; ";
    "" for an undisturbed run (or one that recorded no evidence)."""
    if not found:
        return ""
    reasons = []
    wait = found.get("runqueue_wait_share")
    if found.get("foreign_cpu_share", 0.0) > FOREIGN_CPU_LIMIT and (wait is None or wait > WAIT_LIMIT):
        waited = ("" if wait is None else f", and its threads waited for a core {100 * wait:.0f}% of "
                  f"the time (limit {100 * WAIT_LIMIT:.0f}%)")
        reasons.append(f"other processes used {100 * found['foreign_cpu_share']:.0f}% of the "
                       f"{found['cores']} core(s) during the timed steps (limit {100 * FOREIGN_CPU_LIMIT:.0f}%)"
                       + waited)
    if (found.get("steal_share") or 0.0) > STEAL_LIMIT:
        reasons.append(f"the hypervisor took {100 * found['steal_share']:.0f}% of the cores (steal time, "
                       f"limit {100 * STEAL_LIMIT:.0f}%)")
    before, after = found.get("calibration_before_s"), found.get("calibration_after_s")
    # Slower after only: a slow reading before says the run's start was crowded (a previous
    # group's processes ending, 2.1 ms against 1.2 once in make bench), which the timed steps'
    # own evidence above covers; a slower machine after the steps is one that slowed during them.
    if before and after and after / before - 1 > CALIBRATION_LIMIT:
        reasons.append(f"a fixed kernel took {1e3 * before:.2f} ms before the run and {1e3 * after:.2f} ms "
                       f"after it (limit {100 * CALIBRATION_LIMIT:.0f}% slower): the machine slowed down")
    return "; ".join(reasons)
