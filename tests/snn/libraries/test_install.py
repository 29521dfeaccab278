"""snn.libraries.install and .status: the pins come from pyproject's `libraries` extra, and a
library that cannot install is recorded with pip's reason, never installed by moving torch."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from snn.libraries import install, status

PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"


def test_the_pins_are_the_extras_of_pyproject():
    extra = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["libraries"]
    assert sorted(status.library_specs().values()) == sorted(extra)
    assert set(status.library_specs()) == {"spikingjelly", "norse", "sinabs", "sparseprop"}


def test_a_library_that_cannot_install_is_recorded_with_the_reason():
    torch_version = importlib.metadata.version("torch")
    outcome = install.install("snn_bench_no_such_library", "snn-bench-no-such-library==0.0.1", torch_version)
    assert outcome.startswith(f"not installable: snn-bench-no-such-library==0.0.1 against torch=={torch_version}: ")
    assert len(outcome) < 500 and importlib.metadata.version("torch") == torch_version


def test_the_status_file_lives_in_the_environment_and_a_bad_one_reads_as_empty(monkeypatch, tmp_path):
    assert status.status_file().parent == Path(__import__("sys").prefix)
    monkeypatch.setattr(status, "status_file", lambda: tmp_path / "s.json")
    assert status.read_status() == {}
    (tmp_path / "s.json").write_text("{not json")
    assert status.read_status() == {}
