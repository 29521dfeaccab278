"""Runs of the CLI in a subprocess, for the tests that kill one mid-run; a competing process."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).parents[2]


def start_and_wait_for_first_rows(arguments: list[str], out: Path, timeout_s: float = 120,
                                  **popen) -> subprocess.Popen:
    """`python -m bench ARGUMENTS` started from the repository root, returned once something is
    stored in out/results.jsonl (or it exited, or the timeout passed)."""
    process = subprocess.Popen([sys.executable, "-m", "bench", *arguments], cwd=REPO, **popen)
    results, deadline = out / "results.jsonl", time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if results.exists() and results.stat().st_size > 0:
            break
        time.sleep(0.05)
    return process


SPIN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass"


@contextlib.contextmanager
def competitor(seconds: float = 60.0):
    """A process spinning on one core while the block runs (at most `seconds`), as a browser tab
    or a build would: started through a shell that exits at once, so it is no child of this
    process, whose own CPU time (with its children's) is not "other processes'"."""
    started = subprocess.run(["sh", "-c", f'"{sys.executable}" -c "$0" >/dev/null 2>&1 & echo $!',
                              SPIN.format(seconds=seconds)], check=True, capture_output=True, text=True)
    pid = int(started.stdout.strip())
    time.sleep(0.3)
    try:
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
