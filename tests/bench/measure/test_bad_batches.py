"""A data set whose batches are not what its spec declares (labels out of range, samples of
mixed shapes or of another shape than declared, an empty test split) is refused with one line
naming the problem and the fix, in a sweep and in a study (through the CLI): never 0% accuracy,
never a raw torch error."""

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.results.rows import ErrorRow, StudyRunRow
from bench.results.store import ResultStore
from tests.plain_lif import IMPORT_EXAMPLE, write_sweep


PLUGIN = IMPORT_EXAMPLE + '''
from dataclasses import replace

import torch


class Relabelled(torch.utils.data.Dataset):
    def __init__(self, inner, label):
        self.inner, self.label = inner, label

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i][0], self.label


class Ragged(torch.utils.data.Dataset):
    def __init__(self, inner):
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        x, y = self.inner[i]
        return (x if i % 2 else x[:-1]), y


def test_labels_of_7(context):
    data = plugin.spike_patterns(context)
    return replace(data, test=Relabelled(data.test, 7))


def train_labels_of_7(context):
    data = plugin.spike_patterns(context)
    return replace(data, train=Relabelled(data.train, 7))


def mixed_shapes(context):
    data = plugin.spike_patterns(context)
    return replace(data, train=Ragged(data.train), sample_shape=None)


def wrong_shape(context):
    data = plugin.spike_patterns(context)
    return replace(data, sample_shape=(20, 3))


def empty_test(context):
    data = plugin.spike_patterns(context)
    return replace(data, test=torch.utils.data.Subset(data.test, []))
'''

def _write(tmp_path: Path, kind: str, dataset: str, extra: str = "", **settings) -> Path:
    (tmp_path / "data.py").write_text(PLUGIN)
    return write_sweep(tmp_path / f"{kind}.toml", "bad", extra, measured_steps=2, lr_rule="fixed",
                       variant="deepr:none", dataset=f"data.py:{dataset}", **settings)


@pytest.mark.parametrize("dataset, workers, message", [
    ("train_labels_of_7", 0, "a label of 7 in a batch where the data set declares num_classes = 4 (labels 0 to 3)"),
    ("train_labels_of_7", 1, "a label of 7 in a batch where the data set declares num_classes = 4 (labels 0 to 3)"),
    ("mixed_shapes", 0, "one batch holds samples of 2 shapes"),
    ("wrong_shape", 0, "where the data set declares sample_shape = (20, 3)"),
])
def test_a_sweep_refuses_a_batch_its_data_set_does_not_declare(tmp_path, dataset, workers, message):
    sweep = _write(tmp_path, "sweep", dataset, num_workers=workers)
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--executor", "in-process"]) == 1
    (error,) = [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, ErrorRow)]
    assert error.error.startswith("BadBatch: ") and message in error.error
    assert "Traceback" not in error.error  # from a worker too: the one line, not torch's wrapping


def test_a_study_refuses_test_labels_out_of_range_instead_of_scoring_zero(tmp_path, capsys):
    study = _write(tmp_path, "study", "test_labels_of_7",
                   '[study]\nseeds = [0]\niterations = 2\neval_every = 1\ntarget_accuracy = 0.5\n')
    assert main(["study", str(study), "--out", str(tmp_path / "out")]) == 1
    assert not [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, StudyRunRow)]
    assert "a label of 7 in a batch where the data set declares num_classes = 4" in capsys.readouterr().err


def test_an_empty_test_split_names_the_split_and_the_fix(tmp_path):
    sweep = _write(tmp_path, "sweep", "empty_test", workload_batches=1)
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--executor", "in-process"]) == 0
    (workload,) = [r for r in ResultStore(tmp_path / "out").rows() if type(r).__name__ == "WorkloadRow"]
    assert "its test split is empty" in json.dumps(workload.to_dict() if hasattr(workload, "to_dict") else vars(workload))
