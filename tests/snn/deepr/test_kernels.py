"""The compiled CPU update (snn.deepr.kernels) against the torch ops it replaces."""

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from snn.deepr import DeepRConfig, ExactDeepR, kernels
from snn.model import NetConfig, build_net
from tests.snn.deepr.helpers import Weight, kill


def _twins(cfg: DeepRConfig):
    """The seed network twice from one init: one updated by the kernels, one by torch ops."""
    pair = []
    for compiled in (True, False):
        torch.manual_seed(0)
        layers = build_net(NetConfig()).weight_layers()
        pair.append(ExactDeepR(layers, cfg, compiled=compiled))
    return pair


@pytest.mark.parametrize("l1, temperature", [(0.0, 0.0), (3.0, 0.0), (0.0, 0.2)])
def test_compiled_deaths_equal_the_torch_deaths(l1, temperature):
    # ε = 1e-3 marks reactivated connections (θ = ε exactly), so survivors can be told apart.
    epsilon = 1e-3
    compiled, reference = _twins(DeepRConfig(connectivity=0.1, l1=l1, temperature=temperature, lr=1e-2,
                                             reactivation_value=epsilon))
    assert torch.equal(compiled.active_flat, reference.active_flat), "same initial active set"
    for step in range(3):
        for rewiring in (compiled, reference):
            kill(rewiring, 0.2, step)
        # Reactivation draws differ between the two, so after the first step compare the
        # connections active in both with the same θ: the update must treat them alike.
        both = (compiled.active_flat & reference.active_flat
                & (compiled.flat.buffer == reference.flat.buffer))
        compiled.step()
        reference.step()
        survived = [both & r.active_flat & (r.flat.buffer * r.sign_flat != epsilon)
                    for r in (compiled, reference)]
        assert torch.equal(*survived), "the same connections die"
        survived = survived[0]
        assert int(survived.sum()) < int(both.sum()) * 0.9, "the kill made deaths to compare"
        w_c, w_r = compiled.flat.buffer, reference.flat.buffer
        if temperature:  # torch may fuse θ + scale·ν into one rounding; the loop rounds twice
            torch.testing.assert_close(w_c[survived], w_r[survived], rtol=0, atol=1e-6)
        else:
            assert torch.equal(w_c[survived], w_r[survived]), "survivors keep bit-identical weights"
        assert compiled.active_counts() == reference.active_counts(), "both refill to exactly K"


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("connectivity", [0.1, 0.9])  # 0.1: rejection; 0.9: few dormant, shuffled
def test_reactivation_is_uniform_over_a_strict_subset_of_dormant_positions(compiled, connectivity):
    """From one fixed state, 5 chosen connections die each trial. The candidates are the
    dormant positions plus those 5: a strict subset of the layer, since the survivors are not
    candidates. Every candidate must come back equally often, and no survivor ever leaves."""
    layer = Weight((10, 10))
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=connectivity), compiled=compiled)
    active, sign = rewiring.active[0], rewiring.sign[0]
    w0, a0 = layer.weight.detach().clone(), active.clone()
    dying = torch.zeros_like(a0)
    dying.view(-1)[a0.view(-1).nonzero()[:5, 0]] = True
    candidates = ~a0 | dying
    assert 0 < int(candidates.sum()) < candidates.numel()
    hits = torch.zeros(100)
    for _ in range(2000):
        with torch.no_grad():
            layer.weight.copy_(torch.where(dying, -sign * 0.1, w0))
        active.copy_(a0)
        rewiring.step()
        assert active[a0 & ~dying].all(), "no survivor is dropped"
        assert int(active.sum()) == int(a0.sum())
        hits += (active & candidates).view(-1).float()
    assert chisquare(hits[candidates.view(-1)].numpy()).pvalue > 1e-3


def test_a_deficit_of_every_active_connection_is_met_exactly():
    layer = Weight((400, 400))
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.5), compiled=True)
    before = rewiring.active[0].clone()
    kill(rewiring, 1.0, 0)  # all 80,000 die: every revived connection is drawn anew
    rewiring.step()
    assert rewiring.active_counts() == [80_000]
    overlap = int((before & rewiring.active[0]).sum())
    assert abs(overlap - 40_000) < 5 * 100, "each position comes back with probability 1/2"


def test_compiled_path_is_refused_where_it_cannot_run():
    layer = Weight((4, 4))
    layer.weight.data = layer.weight.data.to(torch.bfloat16)
    with pytest.raises(ValueError, match="float32/float64 weights on the CPU"):
        ExactDeepR([layer], DeepRConfig(connectivity=0.5), compiled=True)


def test_the_reactivation_stream_is_splitmix64():
    """The reference outputs of SplitMix64 from seed 1234567 (Vigna's splitmix64.c), as draws."""
    state = kernels.new_stream(1234567)
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                4593380528125082431, 16408922859458223821]
    assert [round(kernels.uniform(state) * 2**53) for _ in expected] == [x >> 11 for x in expected]
    assert state.dtype == np.uint64
