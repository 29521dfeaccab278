"""Shared fixtures: one small synthetic DVS Gesture written once per test session."""

from __future__ import annotations

import pytest

from snn.data.synth import SynthConfig, write_synthetic_dvsgesture

# Small but complete: 110 files per split (tonic's minimum is 100), ~3000 events per sample.
TINY = SynthConfig(train_per_class=10, test_per_class=10, mean_events=3000, seed=0)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """A read-only-by-convention data root; tests that damage files copy it first."""
    root = tmp_path_factory.mktemp("dvs")
    write_synthetic_dvsgesture(root, TINY)
    return root


@pytest.fixture(autouse=True)
def _no_data_root_from_the_environment(monkeypatch):
    # A developer's own SNN_BENCH_DATA must not leak into tests that check its absence.
    monkeypatch.delenv("SNN_BENCH_DATA", raising=False)
