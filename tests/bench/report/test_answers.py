"""bench.report.answers: the first screen says my step, the fastest step and the next change."""

import dataclasses

import pytest

from bench.report import answers
from bench.report.findings import with_corrected_significance
from bench.report.load import frame
from bench.results.combine import combined_rows
from tests.bench.make_rows import ratio_row, settings, stage_row

USER = answers.USER_PIPELINE
FASTEST = "deepr:exact+forward:fused+framing:compiled+cache:frames"


def _point(i: int, variant: str, stages: dict, layer_type="conv2d", connectivity=0.1,
           **extra) -> list:
    step = sum(stages.values())
    point = settings(variant=variant, connectivity=connectivity, layer_type=layer_type, **extra)
    return [stage_row(f"p{i}", f"run-{i}", stage, median, step, point_settings=point)
            for stage, median in {**stages, "step": step}.items()]


USER_STAGES = {"data_wait": 0.4, "forward": 0.3, "backward": 0.3, "rewiring": 0.002}
FAST_STAGES = {"data_wait": 0.005, "forward": 0.1, "backward": 0.2, "rewiring": 0.0002}


def _ratios(*rows):
    return with_corrected_significance(frame(list(rows)))


def test_the_answer_gives_my_step_the_fastest_step_and_the_largest_single_change():
    stages = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES))
    fused = ratio_row("p2", "r", "step", 0.7, (0.65, 0.75), component="forward",
                      point_settings=settings(variant="forward:fused", connectivity=1.0))
    (answer,) = answers.answers(stages, _ratios(fused))
    mine, fastest, change, caveats = answers.sentences(answer)
    assert mine.startswith("Your step (conv2d | ") and "1002 ms per step" in mine
    assert fastest.startswith("Fastest pipeline (") and "305 ms per step" in fastest
    assert "3.28x faster than yours" in fastest
    assert fastest.endswith("its biggest stage is backward, 66% of its step.")
    assert change.startswith("Largest single change: forward: ") and "1.43x faster per step" in change
    assert "unpaired CI" in caveats
    # an approximate variant, however fast, is not the change to recommend: its accuracy is unknown
    bf16 = ratio_row("p3", "r", "step", 0.5, (0.45, 0.55), component="approx",
                     point_settings=settings(variant="forward:fused+approx:bf16", connectivity=1.0))
    # nor is an approximate point the fastest measured, even at twice the speed
    approximate = _point(4, FASTEST + "+approx:bf16", {s: t / 2 for s, t in FAST_STAGES.items()})
    with_approximate = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES) + approximate)
    (answer,) = answers.answers(with_approximate, _ratios(fused, bf16))
    mine, fastest, change, _ = answers.sentences(answer)
    assert "305 ms per step" in fastest and change.startswith("Largest single change: forward: ")


def test_with_nothing_significant_the_page_recommends_nothing():
    stages = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES))
    noise = ratio_row("p2", "r", "step", 0.97, (0.9, 1.05), component="forward",
                      point_settings=settings(variant="forward:fused", connectivity=1.0))
    (answer,) = answers.answers(stages, _ratios(noise))
    assert answer.best_change is None
    assert "none is recommended" in answers.sentences(answer)[2]


def test_layer_types_get_answers_of_their_own_and_say_what_was_not_timed():
    stages = frame(_point(0, USER, USER_STAGES) + _point(1, "deepr:none", FAST_STAGES, layer_type="linear"))
    skipped = ["4 point(s) skipped: device 'cuda' was asked for but is absent"]
    conv, linear = answers.answers(stages, _ratios(), skipped)
    assert (conv.layer_type, linear.layer_type) == ("conv2d", "linear")
    assert conv.fastest.config == conv.user.config and conv.speedup is None  # the user's is the fastest
    assert linear.user is None
    text = answers.sentences(linear)
    assert text[0] == "Your step: not timed in this run."
    assert "device 'cuda'" in text[3] and 'variant = "pipeline:notebook"' in text[3]


def test_summary_markdown_has_one_section_per_layer_type_and_device():
    stages = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES))
    text = answers.markdown(answers.answers(stages, _ratios()))
    assert text.startswith("# snn-bench summary\n\n## conv2d on cpu\n\n- Your step")
    assert answers.markdown([]) == "# snn-bench summary\n\nNothing was timed.\n"


def test_the_waterfall_goes_from_my_step_to_the_fastest_stage_by_stage():
    stages = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES))
    (answer,) = answers.answers(stages, _ratios())
    bars = answers.waterfall(stages, answer)
    assert list(bars["bar"]) == ["data_wait", "forward", "backward", "rewiring", "other"]
    data_wait = bars.iloc[0]
    assert data_wait["change_ms"] == pytest.approx(-395.0)
    assert data_wait["ci_low_ms"] <= data_wait["change_ms"] <= data_wait["ci_high_ms"]
    # the bars take the user's step to the fastest exactly, 'other' closing the gap
    assert answer.user.step_ms + bars["change_ms"].sum() == pytest.approx(answer.fastest.step_ms)


def test_no_waterfall_without_the_users_pipeline():
    stages = frame(_point(0, "deepr:none", FAST_STAGES))
    (answer,) = answers.answers(stages, _ratios())
    assert answers.waterfall(stages, answer).empty


def test_the_waterfall_figure_is_drawn_per_layer_type(tmp_path):
    from bench.report import plots

    stages = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES))
    (answer,) = answers.answers(stages, _ratios())
    panel = ("conv2d on cpu", answer.user.step_ms, answer.fastest.step_ms, answers.waterfall(stages, answer))
    path = plots.waterfall([panel, panel], tmp_path / "waterfall.png")
    assert path.stat().st_size > 10_000


def test_the_largest_change_is_the_one_measured_at_the_users_num_workers():
    stages = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES))
    at_two = ratio_row("p2", "r", "step", 0.5, (0.45, 0.55), component="forward",
                       point_settings=settings(variant="forward:fused", num_workers=2))
    at_zero = ratio_row("p3", "r", "step", 0.8, (0.75, 0.85), component="forward",
                        point_settings=settings(variant="forward:fused"))
    (answer,) = answers.answers(stages, _ratios(at_two, at_zero))
    assert "1.25x faster per step" in answer.best_change  # the user runs 0 workers
    (elsewhere,) = answers.answers(stages, _ratios(at_two))
    assert "2.00x" in elsewhere.best_change and "data_wait shared" in elsewhere.best_change


def test_the_fastest_is_taken_among_points_doing_the_users_training_work():
    # A dense point skips rewiring and trains another network: however fast, it is not the
    # user's step made faster.
    dense = {"data_wait": 0.001, "forward": 0.05, "backward": 0.05}
    stages = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES)
                   + _point(2, "deepr:none", dense, connectivity=1.0))
    (answer,) = answers.answers(stages, _ratios())
    assert answer.fastest.point_id == "p1"


def test_the_changes_from_my_step_to_the_fastest_say_what_each_saved_and_how_to_apply_it():
    dense = {"data_wait": 0.01, "forward": 0.4, "backward": 0.4}  # the reference the fused ratio was measured against
    stages = frame(_point(0, USER, USER_STAGES) + _point(1, FASTEST, FAST_STAGES)
                   + [stage_row("p3", "r", stage, median, 0.81, point_settings=settings(variant="deepr:none"))
                      for stage, median in {**dense, "step": 0.81}.items()])
    fused = ratio_row("p2", "r", "step", 0.7, (0.65, 0.75), component="forward", reference_point_id="p3",
                      point_settings=settings(variant="forward:fused", connectivity=1.0))
    (answer,) = answers.answers(stages, _ratios(fused))
    found = {c.what: c for c in answers.changes(answer, stages, _ratios(fused))}
    assert set(found) == {"deepr: notebook -> exact", "forward: reference -> fused", "framing: tonic -> compiled",
                          "loading: next_iter -> persistent", "cache: off -> frames"}
    forward = found["forward: reference -> fused"]
    assert forward.apply == 'variant: add "forward:fused"' and forward.paired and forward.shown
    assert forward.saving_ms == pytest.approx(810 * 0.3) and forward.ci_low_ms == pytest.approx(810 * 0.25)
    assert found["deepr: notebook -> exact"].saving_ms is None  # measured alone nowhere in this run


def test_a_short_label_names_only_the_settings_that_differ_and_apply():
    mine = settings(variant=USER, connectivity=0.1)
    assert answers.short_label(settings(variant=FASTEST, connectivity=0.1), mine) == "pipeline:fastest"
    dense = settings(variant="deepr:none+forward:fused", num_workers=2)
    assert answers.short_label(dense, mine) == "deepr:none+forward:fused, num_workers = 2"  # no neutral connectivity


def _runs_of(i: int, variant: str, step_medians: list[float], clock=None) -> list:
    """Point i's step rows, one per run (run_index r), as the store keeps them."""
    point = settings(variant=variant, connectivity=0.1, runs=len(step_medians))
    return [dataclasses.replace(stage_row(f"p{i}", f"g{r}", stage, m * share, m, point_settings=point,
                                          env={"host": "h", "cpu_mhz": (clock or [2600] * 9)[r]}),
                                run_index=r)
            for r, m in enumerate(step_medians) for stage, share in (("forward", 0.6), ("step", 1.0))]


def _answer_across(user_runs, fastest_runs, clock=None):
    per_run = _runs_of(0, USER, user_runs) + _runs_of(1, FASTEST, fastest_runs, clock)
    stages = frame([r for r in combined_rows(per_run)])
    (answer,) = answers.answers(stages, _ratios(), runs=frame(per_run))
    return answer


def test_the_headline_speedup_is_taken_across_runs_with_each_runs_ratio_beside_it():
    answer = _answer_across([1.0, 1.1, 0.9], [0.30, 0.33, 0.27])
    assert answer.speedup.runs == (0.30, 0.30, 0.30)
    assert answer.speedup.interval == "t across runs, spread pooled over 2 points (4 df)"
    assert answer.unstable == ""
    (_, fastest, *_) = answers.sentences(answer)
    assert "spread pooled over 2 points (4 df); each run: 0.300, 0.300, 0.300" in fastest
    assert "the sweep's declared fastest pipeline, compared as planned" in fastest


def test_the_headline_pools_the_run_spread_over_every_point_of_its_layer_type_and_device():
    two = _answer_across([1.0, 1.1, 0.9], [0.30, 0.32, 0.29])
    others = [r for i in range(2, 8) for r in _runs_of(i, "deepr:exact", [0.5, 0.52, 0.49])]
    per_run = _runs_of(0, USER, [1.0, 1.1, 0.9]) + _runs_of(1, FASTEST, [0.30, 0.32, 0.29]) + others
    (many,) = answers.answers(frame(combined_rows(per_run)), _ratios(), runs=frame(per_run))
    assert many.speedup.median == pytest.approx(two.speedup.median)
    assert many.speedup.interval == "t across runs, spread pooled over 8 points (16 df)"
    assert many.speedup.ci_high / many.speedup.ci_low < two.speedup.ci_high / two.speedup.ci_low
    # the steps shown beside it take the same pooled spread
    assert many.user.ci_high_ms / many.user.ci_low_ms < two.user.ci_high_ms / two.user.ci_low_ms


def test_without_a_declared_fastest_pipeline_the_pick_is_corrected_over_the_other_points():
    per_run = (_runs_of(0, USER, [1.0, 1.1, 0.9]) + _runs_of(1, "deepr:exact", [0.30, 0.32, 0.29])
               + _runs_of(2, "deepr:exact+forward:fused", [0.5, 0.52, 0.49]))
    (answer,) = answers.answers(frame(combined_rows(per_run)), _ratios(), runs=frame(per_run))
    assert answer.picked and answer.candidates == 2  # the user's own point is never a candidate
    assert "simultaneous over the 2 points it was picked from" in answers.sentences(answer)[1]


def test_a_point_faster_than_the_declared_pipeline_is_named_with_its_own_corrected_test():
    per_run = (_runs_of(0, USER, [1.0, 1.1, 0.9]) + _runs_of(1, FASTEST, [0.30, 0.32, 0.29])
               + _runs_of(2, "deepr:exact", [0.20, 0.21, 0.19]))
    (answer,) = answers.answers(frame(combined_rows(per_run)), _ratios(), runs=frame(per_run))
    assert answer.fastest.point_id == "p1" and not answer.picked
    assert "took a lower median step (200 ms) than the fastest pipeline" in answer.faster_still
    assert "shown faster" in answer.faster_still
    assert any(line.startswith("Conv2d | deepr:exact") for line in answers.sentences(answer))


def test_an_interval_wider_than_2x_prints_its_bounds_why_and_what_to_do_never_one_number():
    answer = _answer_across([1.0, 1.0, 1.0], [0.10, 0.60, 0.30])
    assert answer.speedup.ci_high / answer.speedup.ci_low > answers.IMPRECISE
    (_, fastest, *_) = answers.sentences(answer)
    assert "not measured precisely: between " in fastest and "rerun on a quiet machine" in fastest
    assert "faster than yours" not in fastest and "no difference" not in fastest


def test_runs_that_disagree_beyond_their_own_intervals_make_the_headline_unstable_naming_the_clock():
    answer = _answer_across([1.0, 1.0, 1.0], [0.30, 0.60, 0.30], clock=[2600, 2000, 2600])
    assert answer.unstable.startswith("unstable across runs")
    assert "CPU clock ranged 2000-2600 MHz" in answer.unstable
    (_, fastest, *_) = answers.sentences(answer)
    assert "unstable across runs" in fastest


def test_a_step_timed_on_another_machine_or_commit_is_left_out_and_said_so():
    mine = _point(0, USER, USER_STAGES)
    theirs = [dataclasses.replace(r, env={"host": "other-box", "git_commit": "abc1234"})
              for r in _point(1, FASTEST, FAST_STAGES)]
    (answer,) = answers.answers(frame(mine + theirs), _ratios())
    assert answer.speedup is None and answer.fastest.point_id == "p0"  # yours is all that is comparable
    assert answer.elsewhere.startswith("1 point(s) ran on another machine, code or data than your step")
    assert "host other-box, not h" in answer.elsewhere and "git_commit abc1234, not None" in answer.elsewhere
    summary = answers.markdown([answer])
    assert "- Left out: 1 point(s)" in summary and "faster than yours" not in summary
    (same,) = answers.answers(frame(mine + _point(1, FASTEST, FAST_STAGES)), _ratios())
    assert same.elsewhere == "" and same.speedup is not None


def test_through_the_cli_a_report_mixing_machines_names_them_and_divides_nothing(tmp_path):
    from bench.cli import main
    from bench.results.store import ResultStore

    from tests.bench.make_rows import timed_rows

    def run(point_id, variant, step, env):
        return [dataclasses.replace(r, run_index=0) for r in
                timed_rows(point_id, "g0", step, env=env, point_settings=settings(variant=variant, connectivity=0.1, runs=1))]

    ResultStore(tmp_path).append(run("mine", USER, 1.0, {"host": "h"})
                                 + run("theirs", FASTEST, 0.3, {"host": "other-box", "cpu_model": "Xeon", "git_commit": "abc1234"}))
    assert main(["report", str(tmp_path)]) == 0
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "Left out: 1 point(s) ran on another machine, code or data than your step" in summary
    assert "cpu_model Xeon" in summary and "faster than yours" not in summary
