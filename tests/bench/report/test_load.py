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
