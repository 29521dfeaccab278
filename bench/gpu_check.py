"""`make gpu-check`: the CUDA checks a session with a device runs first, in one results folder.

    python -m bench.gpu_check --out reports/gpu-check

1. the equality tests with their CUDA cases: the fused and multistep forwards against the
   notebook loop, exact DeepR's invariants, framing (which runs on the CPU for every device),
   and the zero-host-sync check of exact DeepR's CUDA update (pytest, junit XML kept);
2. the fastest pipeline against the notebook's on the device, conv2d at connectivity 0.1, one
   run of 1 + 5 steps, its report rendered (the floors are in it where the harness measures them).

Without a CUDA device it says so in one line and exits 0: nothing here can be checked on the CPU
that `make test` does not already check. It exits 1 when a part fails, having run the others.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

# The tests with CUDA cases (parametrized on the devices present) and the framing they share.
CUDA_TESTS = ("tests/snn/test_model.py", "tests/snn/deepr/test_exact.py", "tests/snn/data/test_framing.py",
              "tests/bench/measure/test_timing.py")

SWEEP = '''name = "gpu-check"
description = "the fastest pipeline against the notebook's on one CUDA device"
[settings]
data_root = "synthetic"
device = "cuda"
layer_type = "conv2d"
connectivity = 0.1
batch_size = 16
num_steps = 60
runs = 1
warmup_steps = 1
measured_steps = 5
[grid]
variant = ["pipeline:notebook", "pipeline:fastest"]
'''

NO_DEVICE = ("gpu-check: no CUDA device here (torch.cuda.is_available() is False): nothing was checked; "
             "run it on a machine with one, after `make setup` with a CUDA build of torch")


def cuda_absence() -> str | None:
    """Why there is nothing to check here, or None when a CUDA device is present."""
    import torch

    return None if torch.cuda.is_available() else NO_DEVICE


def run_tests(out: Path) -> bool:
    command = [sys.executable, "-m", "pytest", "-q", *CUDA_TESTS, f"--junitxml={out / 'cuda-tests.xml'}"]
    with open(out / "cuda-tests.txt", "w") as log:
        return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode == 0


def run_pipelines(out: Path) -> bool:
    from bench.cli import main

    sweep = out / "sweep.toml"
    sweep.write_text(SWEEP)
    return main(["sweep", str(sweep), "--out", str(out / "pipelines")]) == 0


def gpu_check(out: Path) -> int:
    if (absent := cuda_absence()) is not None:
        print(absent)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    lines, failed = [], 0
    for name, part in (("CUDA equality and sync tests", run_tests), ("fastest vs notebook pipeline", run_pipelines)):
        start = time.perf_counter()
        passed = part(out)
        failed += not passed
        lines.append(f"{name}: {'passed' if passed else 'FAILED'} ({time.perf_counter() - start:.0f} s)")
        print(lines[-1], flush=True)
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/gpu-check"), help="the results folder")
    return gpu_check(parser.parse_args(argv).out)


if __name__ == "__main__":
    sys.exit(main())
