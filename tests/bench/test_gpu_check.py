"""bench.gpu_check: one line and nothing else where there is no CUDA device."""

import subprocess
import sys

import pytest
import torch

from bench.gpu_check import NO_DEVICE


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a device it runs the whole check (make gpu-check)")
def test_without_a_cuda_device_it_says_so_in_one_line_and_writes_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.gpu_check", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == NO_DEVICE + "\n"
    assert "no CUDA device" in done.stdout and not (tmp_path / "out").exists()


def test_its_pipeline_sweep_is_a_valid_sweep_of_the_two_pipelines_on_cuda():
    import tomllib

    from bench.config.plan import plan_sweep
    from bench.gpu_check import SWEEP

    plan = plan_sweep(tomllib.loads(SWEEP))
    assert {p.settings.device for p in plan.points} == {"cuda"}
    assert sorted(p.settings.variant.split("+")[0] for p in plan.points) == ["deepr:exact", "deepr:notebook"]
