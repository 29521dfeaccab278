"""snn.names: the torch-free names of snn's choices agree with what implements them."""

import tonic

from snn.model import SURROGATES
from snn.names import SENSOR_SIZE, SURROGATE_NAMES


def test_the_sensor_size_is_tonic_s():
    assert SENSOR_SIZE == tuple(tonic.datasets.DVSGesture.sensor_size)


def test_every_surrogate_name_has_its_surrogate_in_the_model():
    assert SURROGATE_NAMES == tuple(SURROGATES)
