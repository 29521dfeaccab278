import pytest
import torch

from bench.config.devices import DeviceUnavailableError, device_problem, resolve_device
from snn.errors import UserError


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_an_absent_cuda_device_is_a_user_error_with_the_fix():
    with pytest.raises(DeviceUnavailableError, match="use --device cpu") as error:
        resolve_device("cuda")
    assert isinstance(error.value, UserError)


@pytest.mark.parametrize("name", ["meta", "tpu", "cuda:x", "cpu:1", "CUDA"])
def test_an_unknown_device_is_named_without_loading_torch(name):
    assert "use cpu, cuda, cuda:N or mps" in device_problem(name)
    with pytest.raises(ValueError, match="use cpu, cuda, cuda:N or mps"):
        resolve_device(name)


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:1", "mps"])
def test_well_formed_devices_pass_the_name_check(name):
    assert device_problem(name) is None


def test_the_name_check_agrees_with_torch_on_what_it_accepts():
    for name in ("cpu", "cuda", "cuda:3", "mps"):
        torch.device(name)  # no error: the regex accepts nothing torch would refuse
