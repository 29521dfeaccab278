"""bench.measure.interference: a run the machine disturbed is told from a quiet one, by evidence
read from the machine itself (a real competing process, never a stand-in)."""

import time

import pytest
import torch

from bench.measure.interference import (
    CALIBRATION_LIMIT,
    FOREIGN_CPU_LIMIT,
    WAIT_LIMIT,
    Usage,
    calibrate,
    disturbance,
    evidence,
)
from snn.threads import set_threads
from tests.bench.processes import competitor


def _work(seconds: float) -> None:
    a = torch.rand(384, 384)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ a


def _evidence_of(seconds: float) -> dict:
    before_kernel, before = calibrate(), Usage.now()
    _work(seconds)
    after = Usage.now()
    return evidence(before, after, before_kernel, calibrate(), threads=2)


@pytest.fixture
def busy():
    with competitor():
        yield


def test_a_quiet_machine_is_not_called_disturbed():
    """Within three tries of one second: a machine quiet for a test suite may still run a
    background job for a moment (the sweep itself reruns such a run)."""
    set_threads(2)
    tries = []
    while len(tries) < 3 and (not tries or disturbance(tries[-1])):
        tries.append(_evidence_of(1.0))
    assert disturbance(tries[-1]) == "", tries
    assert tries[-1]["foreign_cpu_share"] < FOREIGN_CPU_LIMIT and tries[-1]["runqueue_wait_share"] < WAIT_LIMIT


def test_a_competing_process_is_seen_as_other_processes_cpu(busy):
    set_threads(2)
    found = _evidence_of(1.0)
    assert found["foreign_cpu_share"] > FOREIGN_CPU_LIMIT and found["runqueue_wait_share"] > WAIT_LIMIT
    assert "other processes used" in disturbance(found)


def test_a_machine_that_slows_during_the_run_is_seen_by_the_fixed_kernel():
    """The kernel before the run on a quiet machine, after it beside a competitor."""
    set_threads(2)
    before = calibrate()
    with competitor():
        after = calibrate()
    assert after / before - 1 > CALIBRATION_LIMIT


def test_each_reason_names_its_evidence_and_limit():
    quiet = {"foreign_cpu_share": 0.01, "runqueue_wait_share": 0.005, "steal_share": 0.0, "cores": 2,
             "calibration_before_s": 0.0012, "calibration_after_s": 0.00125}
    assert disturbance(quiet) == "" and disturbance({}) == ""
    busy = {**quiet, "foreign_cpu_share": 0.4, "runqueue_wait_share": 0.36, "steal_share": 0.08,
            "calibration_after_s": 0.0036}
    reasons = disturbance(busy).split("; ")
    assert reasons[0] == ("other processes used 40% of the 2 core(s) during the timed steps (limit 10%), "
                          "and its threads waited for a core 36% of the time (limit 5%)")
    assert reasons[1].startswith("the hypervisor took 8% of the cores")
    assert reasons[2].startswith("a fixed kernel took 1.20 ms before the run and 3.60 ms after it")
    # a slow start alone is not the run's disturbance: the timed steps' own evidence says whether it was
    assert disturbance({**quiet, "calibration_before_s": 0.0021}) == ""


def test_others_busy_on_cores_to_spare_or_the_points_own_crowding_is_no_disturbance():
    quiet = {"foreign_cpu_share": 0.01, "runqueue_wait_share": 0.005, "steal_share": 0.0, "cores": 16,
             "calibration_before_s": 0.0012, "calibration_after_s": 0.0012}
    assert disturbance({**quiet, "foreign_cpu_share": 0.8}) == ""  # a Ray node's other groups, on other cores
    assert disturbance({**quiet, "runqueue_wait_share": 0.5}) == ""  # its own DataLoader workers
    # where the OS reports no wait (macOS, Windows), other processes' CPU decides alone
    assert disturbance({**quiet, "foreign_cpu_share": 0.4, "runqueue_wait_share": None}).startswith("other processes")


def test_shares_are_per_core_second_of_the_timed_steps():
    before = Usage(wall=10.0, busy=100.0, steal=5.0, own=50.0, wait=1.0)
    after = Usage(wall=12.0, busy=104.0, steal=5.2, own=52.0, wait=1.4)  # 4 busy core-seconds, 2 of them ours
    found = evidence(before, after, 0.001, 0.001, threads=2, cores=2)
    assert found["foreign_cpu_share"] == pytest.approx(0.5) and found["steal_share"] == pytest.approx(0.05)
    assert found["runqueue_wait_share"] == pytest.approx(0.1)  # 0.4 s waited by 2 threads over 2 s
    assert found["own_cpu_per_wall"] == pytest.approx(1.0) and found["timed_wall_s"] == pytest.approx(2.0)
    no_steal = evidence(Usage(0.0, 0.0, None, 0.0), Usage(1.0, 0.0, None, 0.0), 0.001, 0.001, threads=2, cores=2)
    assert no_steal["steal_share"] is None and no_steal["runqueue_wait_share"] is None
    assert no_steal["foreign_cpu_share"] == 0.0
