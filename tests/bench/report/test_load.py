from pathlib import Path

from bench.report.load import varying_settings
from tests.bench.make_rows import settings, stage_row


def _rows(*point_settings):
    return [stage_row(f"p{i}", point_settings=s) for i, s in enumerate(point_settings)]


def test_a_setting_varies_only_where_it_matters():
    dense = settings(variant="deepr:none")  # lr_rule takes its neutral value "fixed" here
    exact = settings(variant="deepr:exact", connectivity=0.1)  # the default, per_connectivity
    assert "lr_rule" not in varying_settings(_rows(dense, exact))
    fixed = settings(variant="deepr:exact", connectivity=0.1, lr_rule="fixed")
    assert "lr_rule" in varying_settings(_rows(dense, exact, fixed))
    assert varying_settings(_rows(dense, settings(variant="deepr:none", seed=2))) == ["seed"]


def test_groups_that_differ_only_in_what_they_measured_share_one_environment():
    from bench.report.load import Results

    machine = {"host": "h", "torch": "2.13.0"}
    rows = [stage_row("a", env={**machine, "forward_compile_s": 0.2, "frame_cache_build_s": None,
                                "load_avg_1m_before": 0.5}),
            stage_row("b", env={**machine, "forward_compile_s": None, "frame_cache_build_s": 0.04,
                                "load_avg_1m_before": 1.5})]
    def environments(rows):
        return Results(directory=Path("."), rows=rows, stages=None, ratios=None).environments

    assert len(environments(rows)) == 1
    assert len(environments(rows + [stage_row("c", env={**machine, "torch": "2.12.0"})])) == 2
