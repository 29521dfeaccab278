"""Runs of the CLI in a subprocess, for the tests that kill one mid-run."""

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
