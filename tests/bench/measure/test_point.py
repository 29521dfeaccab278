import pytest
import torch

from bench.config.point_config import PointConfig, loader_key
from bench.measure.group import run_point
from bench.measure.timing import FLOOR_STAGE, OVERHEAD_STAGE
from snn.data.loader import LoaderConfig
from snn.data.transforms import FrameConfig
from snn.model import NetConfig
from snn.names import STAGES


def _tiny_point(root, **overrides) -> PointConfig:
    fields = dict(data_root=str(root), net=NetConfig(num_steps=8), frames=FrameConfig(n_time_bins=8),
                  loader=LoaderConfig(batch_size=8), threads=1, warmup_steps=1, measured_steps=2)
    fields.update(overrides)
    return PointConfig(**fields)


def test_run_point_times_every_stage_of_every_measured_step(tiny_root):
    result = run_point(_tiny_point(tiny_root))
    assert set(result.stage_samples) == set(STAGES) | {OVERHEAD_STAGE, FLOOR_STAGE}
    assert all(len(v) == 2 and min(v) >= 0 for v in result.stage_samples.values())
    assert len(result.step_samples) == 2
    assert result.step_samples[0] >= sum(result.stage_samples[s][0] for s in STAGES)
    env = result.environment
    assert env["threads"] == 1 and env["synthetic_data"] and env["torch"] == torch.__version__


def test_epochs_restarted_while_measuring_are_counted(tiny_root):
    # 110 samples in batches of 16 with drop_last: 6 steps an epoch, so step 7 starts epoch 2.
    cfg = _tiny_point(tiny_root, loader=LoaderConfig(batch_size=16), warmup_steps=0,
                      measured_steps=7)
    assert run_point(cfg).epoch_restarts == 1


def test_points_that_differ_only_in_rewiring_and_forward_share_a_loader(tiny_root):
    from snn.deepr import DeepRConfig

    dense = _tiny_point(tiny_root)
    exact = _tiny_point(tiny_root, deepr=DeepRConfig(variant="exact", connectivity=0.1),
                        net=NetConfig(num_steps=8, forward="multistep"))
    assert loader_key(dense) == loader_key(exact)
    approximate = _tiny_point(tiny_root, net=NetConfig(num_steps=8, forward="fused", approximation="bf16"))
    assert loader_key(dense) == loader_key(approximate)  # timed beside its exact twin, on the same batches
    assert loader_key(dense) != loader_key(_tiny_point(tiny_root, frames=FrameConfig(n_time_bins=8, framing="bincount")))
    assert loader_key(dense) != loader_key(_tiny_point(tiny_root, seed=1))


@pytest.mark.parametrize("overrides, match", [
    ({"net": NetConfig(num_steps=9)}, "net.num_steps=9 differs"),
    ({"net": NetConfig(num_steps=8, input_shape=(2, 64, 64))}, "input_shape"),
    ({"measured_steps": 0}, "measured_steps >= 1"),
    ({"threads": 0}, "threads must be at least 1"),
])
def test_inconsistent_point_is_refused(tiny_root, overrides, match):
    with pytest.raises(ValueError, match=match):
        _tiny_point(tiny_root, **overrides)


def test_an_approximate_variant_this_machine_cannot_run_is_refused_naming_the_fix(tiny_root, monkeypatch):
    from snn.approx import ApproximationUnavailable

    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, probe, lambda: False, raising=False)
    with pytest.raises(ApproximationUnavailable, match="neither AVX-512 BF16 nor AMX.*Drop approx:bf16"):
        run_point(_tiny_point(tiny_root, net=NetConfig(num_steps=8, approximation="bf16")))


def test_closing_lets_go_of_a_worker_that_died_as_it_exited():
    """Spawned workers were seen to abort at exit; torch's SIGCHLD handler then raised in close(),
    over the point's own error. Any other error still comes through."""
    import pytest

    from bench.measure.point import Batches

    class Dying:
        def __init__(self, message):
            self.message = message

        def _shutdown_workers(self):
            raise RuntimeError(self.message)

    Batches(None, Dying("DataLoader worker (pid 17649) is killed by signal: Aborted. ")).close()
    with pytest.raises(RuntimeError, match="something else"):
        Batches(None, Dying("something else")).close()
