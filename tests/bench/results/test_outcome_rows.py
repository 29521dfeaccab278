from bench.config.variants import REFERENCES, pipeline_variant
from bench.results.outcome_rows import unpaired_ratio_rows
from tests.bench.make_rows import settings, stage_row


def _point(point_id, variant, step):
    return stage_row(point_id, f"run-{point_id}", "step", step,
                     point_settings=settings(variant=variant, connectivity=0.1))


def test_the_fastest_pipeline_is_compared_with_the_notebook_pipeline_unpaired():
    rows = [_point("n", pipeline_variant("notebook").name, 1.0),
            _point("f", pipeline_variant("fastest").name, 0.4)]
    pipeline = [r for r in unpaired_ratio_rows(rows, REFERENCES, "t") if r.component == "pipeline"]
    assert len(pipeline) == 1
    (row,) = pipeline
    assert row.point_id == "f" and row.reference_point_id == "n" and not row.paired
    assert row.stage == "step" and abs(row.ratio_median - 0.4) < 1e-9
    again = unpaired_ratio_rows(rows + pipeline, REFERENCES, "t")
    assert not [r for r in again if r.component == "pipeline"], "a compared pair is not compared twice"
