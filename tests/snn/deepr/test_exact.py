import math

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from snn.deepr import DeepRConfig, ExactDeepR, build_rewiring
from snn.model import NetConfig, build_net
from tests.snn.deepr.helpers import Weight, kill

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# The CPU update runs as compiled kernels (snn.deepr.kernels) unless told to use the torch ops,
# which CUDA, half precision and sync_free use: every behavioural test runs both.
PATHS = {"compiled": None, "torch": False}


shapes = st.lists(st.integers(1, 6), min_size=2, max_size=5).map(tuple)


@settings(max_examples=80, deadline=None)
@example(shape=(4, 5), connectivity=1.0, fraction=0.3, seed=1, sync_free=False, device="cpu", path="compiled")
@example(shape=(4, 5), connectivity=1.0, fraction=0.3, seed=1, sync_free=False, device="cpu", path="torch")
@given(shape=shapes, connectivity=st.floats(0.001, 1.0), fraction=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**16), sync_free=st.booleans(), device=st.sampled_from(DEVICES),
       path=st.sampled_from(sorted(PATHS)))
def test_update_keeps_the_deepr_invariants(shape, connectivity, fraction, seed, sync_free, device,
                                           path):
    layer = Weight(shape, device, seed)
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=connectivity, seed=seed,
                                               sync_free=sync_free), compiled=PATHS[path])
    k = round(connectivity * layer.weight.numel())
    assert rewiring.active_counts() == [k]
    for step in range(3):
        kill(rewiring, fraction, seed + step)
        before = rewiring.active[0].clone()
        theta = layer.weight.detach() * rewiring.sign[0]
        survivors = before & (theta >= 0)
        died = int(before.sum() - survivors.sum())
        rewiring.step()
        active, w, sign = rewiring.active[0], layer.weight.detach(), rewiring.sign[0]
        assert int(active.sum()) == k, "exactly K active after every update"
        assert (w[active] * sign[active] >= 0).all(), "active weights keep their fixed sign"
        assert (w[~active] == 0).all(), "dormant weights are exactly zero"
        reactivated = active & ~survivors
        assert int(reactivated.sum()) == died, "the number reactivated equals the deficit"
        assert (active[survivors]).all(), "no surviving connection is dropped"
        assert rewiring.active[0].dtype == torch.bool and rewiring.sign[0].dtype == torch.int8


@pytest.mark.parametrize("path", sorted(PATHS))
def test_at_full_connectivity_deepr_is_sign_constrained_a_flipped_weight_is_redrawn_in_place(path):
    """c = 1.0 is the notebook's sign-constrained DeepR, not a no-op: every connection stays active,
    and exactly the connections whose weight crossed zero are removed and drawn again."""
    layer = Weight((8, 9), "cpu", 3)
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=1.0, seed=3), compiled=PATHS[path])
    assert rewiring.active_counts() == [72]
    kill(rewiring, 0.25, 3)
    crossed = (layer.weight.detach() * rewiring.sign[0]) < 0
    assert crossed.any()
    untouched = layer.weight.detach()[~crossed].clone()
    rewiring.step()
    assert rewiring.active_counts() == [72], "every connection is active again after the update"
    assert (layer.weight.detach() * rewiring.sign[0] >= 0).all(), "each weight keeps its (new) sign"
    assert torch.equal(layer.weight.detach()[~crossed], untouched), "a weight that did not cross is left alone"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sync_free", [False, True])
@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("connectivity", [0.1, 0.6])  # 0.1 samples by rejection, 0.6 by keys
def test_reactivated_positions_are_uniform(device, sync_free, path, connectivity):
    layer = Weight((10, 10), device)
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=connectivity, sync_free=sync_free),
                          compiled=PATHS[path] if device == "cpu" and not sync_free else False)
    hits = torch.zeros(100)
    for step in range(1500):
        kill(rewiring, 1.0, step)  # every active connection dies, all 100 are candidates
        rewiring.step()
        hits += rewiring.active[0].flatten().float().cpu()
    assert chisquare(hits.numpy()).pvalue > 1e-3


def test_same_seed_same_rewiring_and_another_seed_differs():
    masks = []
    for seed in (5, 5, 6):
        layer = Weight((20, 30))
        rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.2, seed=seed))
        for step in range(4):
            kill(rewiring, 0.3, step)
            rewiring.step()
        masks.append(rewiring.active[0].clone())
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])


@pytest.mark.parametrize("path", sorted(PATHS))
def test_global_budget_keeps_the_total_exact_across_layers(path):
    layers = [Weight((8, 9), seed=1), Weight((4, 3, 5), seed=2), Weight((2, 2, 2, 2, 3), seed=3)]
    rewiring = ExactDeepR(layers, DeepRConfig(connectivity=0.3, budget="global"), compiled=PATHS[path])
    total = round(0.3 * sum(l.weight.numel() for l in layers))
    for step in range(5):
        kill(rewiring, 0.5, step)
        rewiring.step()
        assert sum(rewiring.active_counts()) == total


@pytest.mark.parametrize("sync_free, path", [(False, "compiled"), (False, "torch"), (True, "torch")])
def test_per_layer_connectivity_and_a_schedule_that_prunes(sync_free, path):
    layers = [Weight((10, 10), seed=1), Weight((20, 10), seed=2)]
    cfg = DeepRConfig(connectivity=(0.2, 0.05), schedule_start=0.8, schedule_steps=4,
                      sync_free=sync_free)
    rewiring = ExactDeepR(layers, cfg, compiled=PATHS[path])
    assert rewiring.active_counts() == [80, 160]
    for step in range(1, 7):
        kill(rewiring, 0.1, step)
        rewiring.step()
        expected = [round(cfg.connectivity_at(c, step) * n) for c, n in ((0.2, 100), (0.05, 200))]
        assert rewiring.active_counts() == expected
    assert rewiring.active_counts() == [20, 10]


def _theta_shift(l1: float, temperature: float, path: str, lr: float = 1e-2):
    """θ of the connections active before and after one step with no deaths: (before, after)."""
    torch.manual_seed(0)
    layer = Weight((200, 200))
    with torch.no_grad():
        layer.weight.abs_().add_(1.0)  # θ well above 0: no connection dies, so all stay comparable
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.5, l1=l1, temperature=temperature, lr=lr),
                          compiled=PATHS[path])
    active = rewiring.active[0].clone()
    before = (layer.weight.detach() * rewiring.sign[0])[active].clone()
    rewiring.step()
    after = (layer.weight.detach() * rewiring.sign[0])[active]
    assert rewiring.active[0][active].all()
    return before, after


@pytest.mark.parametrize("path", sorted(PATHS))
def test_l1_shifts_active_theta_by_minus_lr_alpha(path):
    before, after = _theta_shift(l1=2.0, temperature=0.0, path=path)
    assert (after - before).mean().item() == pytest.approx(-1e-2 * 2.0, rel=1e-3)
    assert (after - before).std().item() < 1e-5  # a shift, no noise


@pytest.mark.parametrize("path", sorted(PATHS))
def test_temperature_adds_noise_of_spread_sqrt_2_lr_t_with_no_drift(path):
    before, after = _theta_shift(l1=0.0, temperature=0.5, path=path)
    step = after - before  # 20,000 draws: the spread is known to about 1%
    assert step.std().item() == pytest.approx(math.sqrt(2 * 1e-2 * 0.5), rel=0.03)
    assert abs(step.mean().item()) < 4 * math.sqrt(2 * 1e-2 * 0.5) / math.sqrt(step.numel())


@pytest.mark.parametrize("path", sorted(PATHS))
def test_l1_and_noise_leave_dormant_weights_at_zero(path):
    layer = Weight((30, 30))
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.5, l1=1.0, temperature=1e-3, lr=1e-2),
                          compiled=PATHS[path])
    dormant_before = ~rewiring.active[0]
    rewiring.step()
    assert (layer.weight[dormant_before & ~rewiring.active[0]] == 0).all()
    assert sum(rewiring.active_counts()) == 450


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_weights_keep_exactly_k(dtype):
    torch.manual_seed(0)
    layer = Weight((300, 300))
    layer.weight.data = layer.weight.data.to(dtype)
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.5, lr=1e-2))
    for _ in range(5):
        with torch.no_grad():  # kill about a tenth of the active connections each step
            layer.weight.mul_(torch.where(torch.rand(layer.weight.shape) < 0.1, -1.0, 1.0).to(dtype))
        rewiring.step()
        assert rewiring.active_counts() == [45000]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_zero_first_moment_policy_clears_adam_momentum_of_reactivated_weights(path):
    layer = Weight((10, 10))
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.3, optimizer_state="zero_first_moment"),
                          opt, compiled=PATHS[path])
    layer.weight.grad = torch.ones_like(layer.weight)
    opt.step()  # positive weights shrink, momentum everywhere
    before = rewiring.active[0].clone()
    kill(rewiring, 0.5, 0)
    theta_ok = before & (layer.weight.detach() * rewiring.sign[0] >= 0)
    rewiring.step()
    reactivated = rewiring.active[0] & ~theta_ok
    assert reactivated.any()
    assert (opt.state[layer.weight]["exp_avg"][reactivated] == 0).all()
    assert (opt.state[layer.weight]["exp_avg"][theta_ok] != 0).all()


def test_seed_network_rewires_its_five_weight_layers_to_exact_k():
    net = build_net(NetConfig())
    rewiring = build_rewiring(net.weight_layers(), DeepRConfig(connectivity=0.1))
    assert rewiring.active_counts() == [round(0.1 * l.weight.numel()) for l in net.weight_layers()]


@pytest.mark.parametrize("bad, match", [
    ({"connectivity": 0.0}, r"connectivity must lie in \(0, 1\]"),
    ({"connectivity": 1.5}, r"connectivity must lie in \(0, 1\]"),
    ({"variant": "fast"}, "unknown DeepR variant 'fast'"),
    ({"budget": "global", "connectivity": (0.1, 0.2)}, "one connectivity"),
    ({"optimizer_state": "reset"}, "unknown optimizer_state"),
    ({"schedule_start": 0.5}, "schedule_steps >= 1"),
])
def test_bad_deepr_settings_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        DeepRConfig(**bad)


def test_zero_first_moment_without_an_optimiser_is_refused():
    with pytest.raises(ValueError, match="needs the optimiser"):
        ExactDeepR([Weight((3, 3))], DeepRConfig(optimizer_state="zero_first_moment"))


def test_k_rounds_to_nearest():
    layer = Weight((7, 11))
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.25))
    assert rewiring.active_counts() == [math.floor(0.25 * 77 + 0.5)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (make gpu-check)")
def test_the_sync_free_cuda_update_never_waits_for_the_host():
    """On CUDA, exact DeepR's update (sync_free) must not read a device value on the host: torch
    raises on any synchronising call while sync debug mode is "error"."""
    layer = Weight((64, 80), "cuda", 5)
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.1, seed=5, sync_free=True), compiled=False)
    kill(rewiring, 0.2, 5)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            rewiring.step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert rewiring.active_counts() == [round(0.1 * 64 * 80)]
