import copy
import pickle

import torch

from snn.buffers import KEPT_PER_SHAPE, BufferPool, empty_pooled


def _same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def test_a_buffer_nothing_holds_is_handed_out_again_with_the_same_layout():
    pool = BufferPool()
    like = torch.empty(4, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    first = pool.empty_like(like)
    kept = first.untyped_storage().data_ptr()
    del first
    second = pool.empty_like(like)
    assert second.untyped_storage().data_ptr() == kept
    assert second.shape == like.shape and second.stride() == like.stride()


def test_a_buffer_still_held_is_never_handed_out():
    pool = BufferPool()
    like = torch.empty(6, 5)
    held = pool.empty_like(like).fill_(7.0)
    other = pool.empty_like(like)
    assert not _same_memory(held, other)
    other.fill_(1.0)
    assert torch.equal(held, torch.full((6, 5), 7.0))


def test_a_view_of_a_buffer_or_a_tensor_autograd_saved_counts_as_a_holder():
    pool = BufferPool()
    like = torch.empty(6, 5)
    view = pool.empty_like(like).view(30)  # the tensor itself is gone; its view is not
    assert not _same_memory(view, pool.empty_like(like))
    del view
    weight = torch.ones(5, 2, requires_grad=True)
    spikes = pool.empty_like(like).fill_(1.0)
    kept = spikes.untyped_storage().data_ptr()
    out = spikes @ weight  # mm saves its input for weight's gradient
    del spikes
    assert pool.empty_like(like).untyped_storage().data_ptr() != kept
    out.sum().backward()  # frees what mm saved
    assert pool.empty_like(like).untyped_storage().data_ptr() == kept


def test_the_buffers_kept_per_shape_are_bounded():
    pool = BufferPool()
    held = [pool.empty_like(torch.empty(3)) for _ in range(KEPT_PER_SHAPE + 3)]
    assert len(held) == KEPT_PER_SHAPE + 3
    assert sum(len(kept) for kept in pool._kept.values()) == KEPT_PER_SHAPE


def test_a_copied_network_starts_with_no_buffers():
    pool = BufferPool()
    pool.empty_like(torch.empty(3))
    for copied in (copy.deepcopy(pool), pickle.loads(pickle.dumps(pool))):
        assert copied._kept == {}
        assert copied.empty_like(torch.empty(3)).shape == (3,)


def test_a_pooled_buffer_is_laid_out_as_torchs_channels_last_pooling_with_any_leading_dims():
    x = torch.rand(6, 3, 8, 4).contiguous(memory_format=torch.channels_last)
    pooled = torch.nn.functional.avg_pool2d(x, 2)
    for pool in (None, BufferPool()):
        out = empty_pooled(x, pool)
        assert out.shape == pooled.shape and out.stride() == pooled.stride()
        per_step = empty_pooled(x.unflatten(0, (2, 3)), pool)  # (T, B, C, H, W): the fused forward's
        assert per_step.shape == (2, 3, 3, 4, 2) and per_step.stride() == (3 * out.stride(0), *out.stride())
