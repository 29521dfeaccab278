"""The Ray executor's pure parts, and its errors without Ray installed (no cluster needed: these
run in `make test`; tests/bench/run/test_ray.py runs the executor against a real cluster)."""

import os
import sys

import pytest

from bench.cli import main
from bench.config.settings import normalise
from bench.errors import SettingError
from bench.run.ray_executor import Reservation, import_ray, ray_device_absence, reservation

SETTINGS = normalise({"threads": 2, "num_workers": 2, "device": "cpu"})


def test_a_group_holds_its_threads_plus_its_workers_in_cpus():
    assert reservation(SETTINGS, largest_node_cpus=16) == Reservation(cpus=4, gpus=0)
    assert reservation(SETTINGS.changed(num_workers=0), largest_node_cpus=16) == Reservation(cpus=2, gpus=0)


def test_a_group_wider_than_every_node_holds_the_largest_whole():
    assert reservation(SETTINGS.changed(threads=8), largest_node_cpus=4) == Reservation(cpus=4, gpus=0)


def test_a_cuda_group_holds_one_whole_gpu():
    assert reservation(SETTINGS.changed(device="cuda"), largest_node_cpus=8).gpus == 1
    assert reservation(SETTINGS.changed(device="cuda:0"), largest_node_cpus=8).gpus == 1


def test_devices_a_cluster_cannot_give_are_named_with_the_fix():
    assert ray_device_absence("cpu", cluster_gpus=0) is None
    assert ray_device_absence("cuda", cluster_gpus=2) is None
    assert "the Ray cluster has no GPU" in ray_device_absence("cuda", cluster_gpus=0)
    assert 'use device = "cuda"' in ray_device_absence("cuda:1", cluster_gpus=4)
    assert "--executor in-process" in ray_device_absence("mps", cluster_gpus=0)


@pytest.fixture(autouse=True)
def _ray_env_restored(monkeypatch):
    for key in ("RAY_USAGE_STATS_ENABLED", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"):
        monkeypatch.delenv(key, raising=False)  # import_ray sets them; undone after each test


def test_without_ray_installed_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(SettingError, match=r"pip install 'snn-bench\[ray\]'"):
        import_ray(None)


def test_ray_is_kept_on_loopback_only_for_a_local_or_loopback_cluster(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(SettingError):
        import_ray("10.0.0.5:6379")  # a real cluster: the driver keeps its outward address
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ
    with pytest.raises(SettingError):
        import_ray("127.0.0.1:6379")
    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"


def test_the_cli_refuses_ray_without_ray_and_an_address_without_ray(tiny_root, tmp_path, monkeypatch, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "s"\n[settings]\ndata_root = "{tiny_root}"\nmeasured_steps = 2\nruns = 1\n')
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "o"), "--executor", "ray"]) == 2
    assert "pip install 'snn-bench[ray]'" in capsys.readouterr().err
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "o"), "--address", "127.0.0.1:1"]) == 2
    assert "pass it with --executor ray" in capsys.readouterr().err
    assert not (tmp_path / "o" / "results.jsonl").exists()  # nothing ran, nothing half-written
