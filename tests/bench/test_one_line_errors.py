"""Bad input through the command line: one line naming the problem and the fix (exit 2, or a
failed check's exit 1), never a traceback, and nothing already computed lost."""

import json
import os

import pytest

from bench.cli import main
from bench.results.rows import CheckRow, SkippedRow
from bench.results.store import ResultStore
from tests.plain_lif import IMPORT_EXAMPLE, write_sweep

DOUBLE = IMPORT_EXAMPLE + '''
import torch


class Double(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner.double()

    def forward(self, x):
        return self.inner(x.double()).float()


def double(context):
    spec = plugin.plain_lif(context)
    spec.module = Double(spec.module)
    return spec


def raises(context):
    raise ValueError("hidden must be positive")
'''


def test_notebook_deepr_on_a_float64_model_is_a_skip_with_the_reason(tmp_path):
    (tmp_path / "models.py").write_text(DOUBLE)
    sweep = write_sweep(tmp_path / "sweep.toml", "double", model="models.py:double", connectivity=0.5,
                        tail='[grid]\nvariant = ["deepr:notebook", "deepr:exact"]\n')
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--executor", "in-process"]) == 0
    (skip,) = [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, SkippedRow)]
    assert "deepr:notebook does not apply" in skip.reason and "float64" in skip.reason and "deepr:exact" in skip.reason


def test_check_of_a_factory_that_raises_is_one_line_and_no_agreement_verdict(tmp_path, capsys):
    (tmp_path / "models.py").write_text(DOUBLE)
    sweep = write_sweep(tmp_path / "sweep.toml", "raises", model="models.py:raises", connectivity=0.5,
                        variant="deepr:exact")
    assert main(["check", str(sweep), "--out", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert "FAILED: the point could not be built to check: ValueError: hidden must be positive (at " in captured.out
    assert "agreement" not in captured.out and "Traceback" not in captured.out + captured.err
    (row,) = [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, CheckRow)]
    assert row.component == "deepr" and not row.passed


def test_check_refuses_a_studys_folder(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "study.json").write_text("{}")
    sweep = write_sweep(tmp_path / "sweep.toml", "check", variant="deepr:exact", connectivity=0.5)
    assert main(["check", str(sweep), "--out", str(tmp_path / "out")]) == 2
    assert "holds a study's runs" in capsys.readouterr().err


def test_a_report_into_a_folder_it_cannot_write_is_one_line(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "sweep.toml", "ro", variant="deepr:none")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--executor", "in-process"]) == 0
    capsys.readouterr()
    (tmp_path / "a-file").write_text("")  # a folder under a file: not writable for anyone, root included
    assert main(["report", str(tmp_path / "out"), "--out", str(tmp_path / "a-file" / "page")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snn-bench: error: cannot write") and "pass --out with a folder you can write" in err


@pytest.mark.parametrize("damage", [{"kind": "mystery"}, {"settings": "conv2d"}])
def test_a_row_of_no_known_shape_is_a_skipped_line_not_a_traceback(tmp_path, damage):
    sweep = write_sweep(tmp_path / "sweep.toml", "rows", variant="deepr:none")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    rows = len(ResultStore(out).rows())
    stored = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    with open(out / "results.jsonl", "a") as handle:  # a whole row of an unknown kind, or settings as a string
        handle.write(json.dumps({**stored, **damage}) + "\n")
    with pytest.warns(UserWarning, match="not JSON, or not a row of any kind"):
        assert main(["report", str(out)]) == 0
    with pytest.warns(UserWarning):
        assert len(ResultStore(out).rows()) == rows  # nothing already stored is lost


def test_a_future_schema_names_a_fix_that_keeps_the_venv_and_data(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "sweep.toml", "future", variant="deepr:none")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    future = json.loads(lines[0])
    future["schema"] += 1
    (out / "results.jsonl").write_text("\n".join([json.dumps(future), *lines[1:]]) + "\n")
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sweep into a fresh --out" in err and "make clean" not in err


def test_a_full_disk_mid_sweep_is_a_line_of_its_own_after_the_progress_bar(tmp_path, capsys, monkeypatch):
    sweep = write_sweep(tmp_path / "sweep.toml", "full", variant="deepr:none")
    write = os.write

    def short(fd, data):  # the results file's rows are cut short, as on a full disk
        return len(data) // 2 if bytes(data[:2]) == b'{"' else write(fd, data)

    monkeypatch.setattr(os, "write", short)
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--executor", "in-process"]) == 2
    monkeypatch.setattr(os, "write", write)
    err = capsys.readouterr().err
    error = [line for line in err.splitlines() if "could not write" in line]
    assert len(error) == 1 and error[0].startswith("snn-bench: error: could not write"), err
    assert "none of them were kept" in error[0] and "Traceback" not in err
