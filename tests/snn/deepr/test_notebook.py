import pytest
import torch
from torch import nn

from snn.deepr import DeepRConfig, build_rewiring
from snn.deepr.notebook import NotebookDeepR


class Weight(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(shape))


def test_notebook_variant_falls_short_of_k_after_every_update_and_the_shortfall_is_measured():
    # It truncates the deficit and samples with replacement, so duplicates reactivate fewer
    # connections than died. The next update tops up again, so the count hovers below K.
    torch.manual_seed(0)
    layer = Weight((64, 64))
    rewiring = NotebookDeepR([layer], connectivity=0.5, lr=5e-3)
    k = 0.5 * layer.weight.numel()
    shortfalls = []
    for _ in range(20):
        with torch.no_grad():  # flip the sign of ~30% of the weights: those connections die
            flip = torch.rand_like(layer.weight) < 0.3
            layer.weight.copy_(torch.where(flip, -layer.weight, layer.weight))
        rewiring.step()
        shortfalls.append((k - rewiring.active_counts()[0]) / k)
    print(f"notebook: active count below K by {sum(shortfalls) / len(shortfalls):.1%} on average")
    assert all(s > 0 for s in shortfalls)
    # ~600 draws with replacement from ~2650 dormant repeat ~600²/(2·2650) ≈ 68 ≈ 3% of K.
    assert sum(shortfalls) / len(shortfalls) > 0.02


def test_notebook_variant_refuses_five_dimensional_weights_as_written():
    torch.manual_seed(0)
    layer = Weight((2, 2, 2, 2, 3))
    rewiring = NotebookDeepR([layer], connectivity=0.5, lr=5e-3)
    with torch.no_grad():
        layer.weight.mul_(-1)  # every active connection flips sign and is removed
    with pytest.raises(NotImplementedError, match="n dimensions"):
        rewiring.step()


def test_notebook_variant_has_one_connectivity_and_no_schedule():
    with pytest.raises(ValueError, match="one connectivity"):
        build_rewiring([Weight((3, 3))], DeepRConfig(variant="notebook", connectivity=(0.1,)))


def test_notebook_and_exact_start_from_the_same_active_set_of_k_per_layer():
    masks = []
    for variant in ("notebook", "exact"):
        torch.manual_seed(0)
        layers = [Weight((20, 30)), Weight((8, 3, 5, 5))]
        build_rewiring(layers, DeepRConfig(variant=variant, connectivity=0.1, seed=4))
        masks.append([layer.weight != 0 for layer in layers])
    for notebook, exact in zip(*masks):
        assert torch.equal(notebook, exact)
        assert int(notebook.sum()) == round(0.1 * notebook.numel())
