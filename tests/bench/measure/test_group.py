import pytest
import torch

from bench.config.point_config import point_config
from bench.measure.group import run_group
from bench.measure.point import PointFailure, PointResult, PointSession
from bench.measure.timing import FLOOR_STAGE, OVERHEAD_STAGE
from snn.names import STAGES

TINY = {"num_steps": 8, "batch_size": 8, "threads": 1, "warmup_steps": 1, "measured_steps": 3}


def _config(root, **settings):
    return point_config({**TINY, "data_root": str(root), **settings})


def test_a_group_times_every_point_for_the_same_number_of_steps(tiny_root):
    dense, exact = run_group([_config(tiny_root, variant="none"),
                              _config(tiny_root, variant="exact", connectivity=0.2)])
    for result in (dense, exact):
        assert isinstance(result, PointResult)
        assert set(result.stage_samples) == set(STAGES) | {OVERHEAD_STAGE, FLOOR_STAGE}
        assert all(len(v) == 3 for v in result.stage_samples.values()) and len(result.step_samples) == 3
    assert dense.active_connections == dense.total_connections
    assert exact.active_connections / exact.total_connections == pytest.approx(0.2, abs=0.01)
    assert dense.environment is exact.environment and "load_avg_1m_after" in dense.environment


def test_the_same_seed_gives_every_variant_the_same_initial_network(tiny_root):
    # Pairing compares like with like: every session of a group starts from the same weights
    # (a DeepR variant then keeps a subset of them active, rescaled by 1/sqrt(c), the others
    # zeroed; sparse_init = "rescaled").
    dense = PointSession(_config(tiny_root, variant="none"), torch.device("cpu")).trainer.net.state_dict()
    for variant in ("multistep", "notebook", "exact"):
        session = PointSession(_config(tiny_root, variant=variant, connectivity=0.2), torch.device("cpu"))
        net = session.trainer.net
        weights = [layer.weight for layer in net.weight_layers()]
        rewired = {name for name, p in net.named_parameters() if any(p is w for w in weights)}
        other = net.state_dict()
        for name, x in dense.items():
            y = other[name]
            if not x.is_floating_point():  # neuron buffers
                assert torch.equal(x, y), (variant, name)
                continue
            kept = y != 0
            scale = 0.2 ** -0.5 if variant != "multistep" and name in rewired else 1.0
            assert torch.allclose(x[kept] * scale, y[kept]), (variant, name)


def test_one_point_failing_to_build_leaves_the_others_timed(tiny_root):
    broken = _config(tiny_root, variant="exact", connectivity=0.2)
    broken = type(broken)(**{**broken.__dict__, "deepr": type(broken.deepr)(
        variant="exact", connectivity=(0.1, 0.2))})  # 2 values for 5 rewired layers
    good, bad = run_group([_config(tiny_root), broken])
    assert isinstance(good, PointResult) and len(good.step_samples) == 3
    assert isinstance(bad, PointFailure) and "2 connectivities given for 5 rewired layers" in bad.error
    assert "Traceback" in bad.traceback


def test_a_shared_failure_fails_every_point_of_the_group(tmp_path):
    outcomes = run_group([_config(tmp_path), _config(tmp_path, variant="exact", connectivity=0.2)])
    assert all(isinstance(o, PointFailure) and "no DVS Gesture data" in o.error for o in outcomes)


def test_points_that_cannot_share_a_loader_are_refused(tiny_root):
    with pytest.raises(ValueError, match="must differ only in their rewiring and forward pass"):
        run_group([_config(tiny_root), _config(tiny_root, batch_size=4)])


def test_points_take_their_steps_in_turn_alternating_who_goes_first(tiny_root, monkeypatch):
    order = []
    for method in ("warm_up", "measure"):
        original = getattr(PointSession, method)

        def logged(self, *args, _original=original, _method=method):
            order.append((_method, self.config.deepr.variant))
            return _original(self, *args)
        monkeypatch.setattr(PointSession, method, logged)
    run_group([_config(tiny_root, variant="notebook", connectivity=0.2),
               _config(tiny_root, variant="exact", connectivity=0.2)])
    warm = [v for m, v in order if m == "warm_up"]
    measured = [v for m, v in order if m == "measure"]
    assert warm == ["notebook", "exact"]  # TINY: 1 warm-up step
    assert measured == ["notebook", "exact", "exact", "notebook", "notebook", "exact"]  # A B, B A, A B


def test_deepr_draws_its_mask_from_its_own_stream_not_the_weights_one(tiny_root):
    # At one seed, the keys that pick exact DeepR's active set must not be the values that
    # initialised the weights (they were: layer 0 started with its K largest positive weights).
    dense = PointSession(_config(tiny_root, variant="none"), torch.device("cpu"))
    exact = PointSession(_config(tiny_root, variant="exact", connectivity=0.1), torch.device("cpu"))
    w0 = dense.trainer.net.weight_layers()[0].weight.detach()
    kept = exact.rewiring.active[0]
    positive = (w0[kept] > 0).float().mean().item()
    assert 0.35 < positive < 0.65, positive  # about half, as for any random subset
    k = int(kept.sum())
    top_k = torch.zeros_like(kept).view(-1)
    top_k[w0.view(-1).topk(k).indices] = True
    overlap = (top_k.view_as(kept) & kept).sum().item() / k
    assert overlap < 0.3, overlap  # a random subset shares about c = 10% with the top K
    assert w0[kept].abs().mean() == pytest.approx(w0.abs().mean(), rel=0.25)


def test_each_deepr_point_records_its_rewiring_traffic_per_layer_and_update(tiny_root):
    notebook, exact, dense = run_group([_config(tiny_root, variant="notebook", connectivity=0.2, lr=0.5),
                                        _config(tiny_root, variant="exact", connectivity=0.2, lr=0.5),
                                        _config(tiny_root, variant="none", lr=0.5)])
    assert dense.traffic is None
    for result in (notebook, exact):
        traffic = result.traffic
        assert len(traffic.died) == 5 and all(len(layer) == 3 for layer in traffic.died)
        assert sum(map(sum, traffic.died)) > 0  # at lr 0.5 connections die every update
    # exact DeepR revives exactly what died: the active count never moves
    for died, revived, active in zip(exact.traffic.died, exact.traffic.revived, exact.traffic.active_after):
        assert died == revived and len(set(active)) == 1


@pytest.mark.parametrize("num_workers", [0, 1])
def test_the_notebooks_loading_takes_a_new_iterator_every_step(tiny_root, num_workers):
    # next(iter(loader)) at every step, as the notebook does: each step after the first starts
    # a new iterator, and the loss still comes from real batches of the data.
    (result,) = run_group([_config(tiny_root, variant="loading:next_iter", num_workers=num_workers)])
    assert isinstance(result, PointResult), getattr(result, "error", "")
    assert result.epoch_restarts == 3  # every measured step (the warm-up step took the first)
    assert len(result.step_samples) == 3


def test_cached_frames_are_filled_before_timing_and_read_by_workers(tiny_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SNN_BENCH_CACHE", str(tmp_path))
    cached = _config(tiny_root, variant="cache:frames", num_workers=1)
    assert cached.loader.collate == "stack" and cached.frame_cache.startswith(str(tmp_path))
    (result,) = run_group([cached])
    assert isinstance(result, PointResult), getattr(result, "error", "")
    assert result.environment["frame_cache_build_s"] > 0
    assert len(list((tmp_path / "frames").glob("*/*.frames"))) == 110


def test_the_fused_forwards_kernels_compile_before_timing_and_the_time_is_recorded(tiny_root):
    fused, reference = _config(tiny_root, variant="forward:fused"), _config(tiny_root, variant="deepr:none")
    results = run_group([reference, fused])
    assert all(isinstance(r, PointResult) for r in results), [getattr(r, "error", "") for r in results]
    assert results[1].environment["forward_compile_s"] >= 0  # loaded from numba's cache: ~0
    (alone,) = run_group([reference])
    assert alone.environment["forward_compile_s"] is None  # no fused point, nothing compiled


RECORDING = '''
from torch import nn

from bench.plugins.model import ModelSpec
from snn.model import SeedNet
from snn.plugin import seed_config

SEEN = {}  # tag -> every batch the point's network was given, in order
FAIL_AT = {}  # tag -> the forward call that raises (a point failing mid-run)


class Recording(nn.Module):
    def __init__(self, net, tag):
        super().__init__()
        self.net, self.tag = net, tag

    def forward(self, x):
        seen = SEEN.setdefault(self.tag, [])
        seen.append(x.detach().clone())
        if FAIL_AT.get(self.tag) == len(seen):
            raise RuntimeError("this point fails here")
        return self.net(x)


def recording(context):
    net = SeedNet(seed_config(context, layer_type="linear"))
    return ModelSpec(Recording(net, context.options["tag"]), neurons=net.workload_taps())
'''


def _recording(tmp_path):
    from bench.plugins.reference import load

    path = tmp_path / "recording.py"
    path.write_text(RECORDING)
    return f"{path}:recording", load(f"{path}:SEEN", "model")[0], load(f"{path}:FAIL_AT", "model")[0]


@pytest.mark.parametrize("num_workers, loading", [(0, "persistent"), (1, "persistent"), (0, "next_iter"),
                                                  (1, "next_iter")])
def test_paired_points_train_on_identical_batches_each_loading_its_own(tiny_root, tmp_path, num_workers, loading):
    model, seen, _ = _recording(tmp_path)
    configs = [_config(tiny_root, model=model, model_options={"tag": tag}, num_workers=num_workers,
                       variant=f"loading:{loading}", measured_steps=6) for tag in "abc"]
    results = run_group(configs)
    assert all(isinstance(r, PointResult) for r in results)
    a, b, c = seen["a"], seen["b"], seen["c"]
    assert len(a) == len(b) == len(c) == 7  # 1 warm-up and 6 measured steps
    assert all(torch.equal(x, y) and torch.equal(x, z) for x, y, z in zip(a, b, c))
    assert not all(torch.equal(a[0], x) for x in a[1:])  # the steps themselves see different batches
    assert all(min(r.stage_samples["data_wait"]) > 0 for r in results)  # each read its own copy


def test_a_point_failing_mid_run_leaves_the_others_on_identical_batches(tiny_root, tmp_path):
    model, seen, fail_at = _recording(tmp_path)
    fail_at["b"] = 3  # b raises at its third forward pass; a and c go on
    configs = [_config(tiny_root, model=model, model_options={"tag": tag}, measured_steps=6) for tag in "abc"]
    a, b, c = run_group(configs)
    assert isinstance(b, PointFailure) and "this point fails here" in b.error
    assert isinstance(a, PointResult) and isinstance(c, PointResult)
    assert len(seen["a"]) == len(seen["c"]) == 7
    assert all(torch.equal(x, y) for x, y in zip(seen["a"], seen["c"]))
