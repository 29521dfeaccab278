import pytest
import torch

from snn.seeds import STREAMS, stream_seed


def test_each_consumer_of_one_seed_gets_its_own_stream():
    seeds = {stream: stream_seed(0, stream) for stream in STREAMS}
    assert len(set(seeds.values())) == len(STREAMS) and 0 not in seeds.values()
    draws = {s: torch.rand(1000, generator=torch.Generator().manual_seed(v)) for s, v in seeds.items()}
    weights = draws.pop("weights")
    for stream, values in draws.items():  # independent streams: no correlation to speak of
        assert abs(torch.corrcoef(torch.stack([weights, values]))[0, 1].item()) < 0.15, stream


def test_streams_are_stable_and_differ_between_seeds():
    assert stream_seed(3, "deepr_mask") == stream_seed(3, "deepr_mask")
    assert stream_seed(3, "deepr_mask") != stream_seed(4, "deepr_mask")
    assert 0 <= stream_seed(2**31, "data") < 2**63


def test_an_unknown_stream_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown random stream 'dropout'"):
        stream_seed(0, "dropout")
