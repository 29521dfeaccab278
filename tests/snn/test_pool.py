import pytest
import torch
import torch.nn.functional as F
from torch import nn

from snn.buffers import BufferPool
from snn.pool import avg_pool_2x2, tiles_exactly

LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(torch.int32 if t.dtype == torch.float32 else torch.int64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_pooling_and_its_gradient_are_torchs_bit_for_bit_step_after_step(layout, dtype):
    # float32 channels-last runs the compiled loops, the rest torch ops; -0.0 in both the input
    # and the gradient, since torch's backward adds into zeros and turns it into +0.0.
    pool = BufferPool()
    torch.manual_seed(0)
    for _ in range(3):  # the kept buffers are rewritten whole every step
        x = torch.randn(6, 5, 8, 12, dtype=dtype).contiguous(memory_format=LAYOUTS[layout])
        x[0, 0, 0, 0] = -0.0
        grad = torch.randn(6, 5, 4, 6, dtype=dtype)
        grad[0, 0, 0, 0] = -0.0
        a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
        expected = F.avg_pool2d(a, 2)
        expected.backward(grad)
        pooled = avg_pool_2x2(b, pool)
        pooled.backward(grad)
        assert torch.equal(_bits(pooled), _bits(expected))
        assert torch.equal(_bits(b.grad), _bits(a.grad))
        assert b.grad.stride() == a.grad.stride() and pooled.stride() == expected.stride()


@pytest.mark.parametrize("layer, shape", [
    (nn.AvgPool2d(3), (1, 2, 6, 6)),
    (nn.AvgPool2d(2, stride=1), (1, 2, 6, 6)),
    (nn.AvgPool2d(2, padding=1), (1, 2, 6, 6)),
    (nn.AvgPool2d(2, ceil_mode=True), (1, 2, 6, 6)),
    (nn.AvgPool2d(2, divisor_override=3), (1, 2, 6, 6)),
    (nn.AvgPool2d(2), (1, 2, 5, 6)),  # odd H: the last row is in no window
    (nn.MaxPool2d(2), (1, 2, 6, 6)),
])
def test_only_windows_that_tile_the_input_exactly_take_the_kept_buffer_path(layer, shape):
    assert not tiles_exactly(layer, torch.empty(shape))
    assert tiles_exactly(nn.AvgPool2d(2), torch.empty(1, 2, 6, 6))
    assert tiles_exactly(nn.AvgPool2d((2, 2), stride=(2, 2)), torch.empty(1, 2, 6, 6))
