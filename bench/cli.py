"""`snn-bench` (also `python -m bench`): the command line."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from pathlib import Path

from bench.cache_cli import add_cache_commands
from bench.config.check_options import CHECK_OPTIONS, check_options
from bench.config.options import add_flags, given_flags
from bench.config.options import markdown_table as options_table
from bench.config.settings import SETTINGS, cache_root, markdown_table, normalise, point_label, show_value
from bench.config.sweepfile import MAX_POINTS
from bench.config.variants import VARIANT_COMPONENTS
from bench.data_cli import add_data_commands
from bench.errors import SettingError, UserError, writes_into
from bench.profiling.options import PROFILE_OPTIONS
from bench.regression import REGRESSION_THRESHOLD
from bench.results.paths import DEFAULT_REPORTS, PROFILES, REPORT, STUDY_RECORD_JSON, SWEEP_COPY
from bench.results.rows import to_json
from bench.tool_caches import point_tool_caches
from snn.files import probe_writable, replace_file

# Heavy modules (torch, the runner, the profilers) are imported by the commands that need them,
# so `report`, `list --help` and errors stay quick.


LIST_ALL_UP_TO = 60  # `list` prints every point up to this many, else a summary (--all: every one)


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting of the table (the sweep key with dashes, older spellings as aliases);
    a flag not given leaves the table's default, so every default lives in bench.config.settings."""
    group = parser.add_argument_group("point settings (the keys of a sweep file; `snn-bench settings` lists them)")
    add_flags(group, SETTINGS)
    for component, (names, default) in VARIANT_COMPONENTS.items():
        group.add_argument(f"--{component}", choices=names, default=argparse.SUPPRESS,
                           help=f"shorthand for the {component} part of --variant")


def settings_from_args(args) -> dict:
    """The settings given on the command line (canonical names); the variant shorthands joined."""
    given = {s.name: getattr(args, s.name) for s in SETTINGS if hasattr(args, s.name)}
    parts = [f"{c}:{getattr(args, c)}" for c in VARIANT_COMPONENTS if hasattr(args, c)]
    if parts and "variant" in given:
        raise SettingError(f"--variant {given['variant']} and --{parts[0].split(':')[0]} both name "
                           "the variant: use one or the other")
    if parts:
        given["variant"] = "+".join(parts)
    return given


def _cmd_run(args) -> int:
    from bench.config.point_config import point_config
    from bench.measure.environment import oversubscription_warning
    from bench.measure.group import run_point
    from bench.measure.stage_table import stage_table

    settings = normalise(settings_from_args(args))
    cfg = point_config(settings)
    if args.json:
        _check_writable(Path(args.json))  # before the timing it would hold, not after
    if warning := oversubscription_warning(settings.threads, settings.num_workers):
        print(f"warning: {warning}", file=sys.stderr)
    result = run_point(cfg)
    env = result.environment
    print(f"{point_label(settings)}: batch {cfg.loader.batch_size}, {cfg.net.num_steps} time steps, "
          f"threads {env['threads']}, torch {env['torch']}, "
          f"{'synthetic' if env['synthetic_data'] else 'real'} data at {env['data_root']}")
    print(f"{cfg.warmup_steps} warm-up + {cfg.measured_steps} measured steps in one run, here "
          f"(a sweep times each point in `runs` fresh runs and takes its intervals across them); "
          f"epochs started while measuring: {result.epoch_restarts}")
    print(stage_table(result.stage_samples, result.step_samples))
    if args.json:  # written whole at the end: a failed run leaves no empty or partial file
        replace_file(Path(args.json), to_json(result.to_dict(), indent=2))
        print(f"result written to {args.json}")
    return 0


def _check_writable(path: Path) -> None:
    """That `path` can be written, checked before any timing without creating it: its folder
    takes a file, and it is not a folder itself; a UserError naming the fix when not."""
    if path.is_dir():
        raise SettingError(f"{path} is a folder: pass a file path as --json")
    try:
        probe_writable(path.parent)
    except OSError as error:
        raise SettingError(f"cannot write {path} ({error.strerror}): pass a writable --json path") from error


def _cmd_profile(args) -> int:
    from bench.profiling.options import profile_options
    from bench.profiling.run import profile_point

    settings = normalise(settings_from_args(args))
    out = Path(args.out or DEFAULT_REPORTS / PROFILES / settings.id)
    options = profile_options(given_flags(args, PROFILE_OPTIONS), "profile flags")
    summary = profile_point(settings, out, options)
    print(f"profiled {summary.label} -> {out}")
    print(f"line_profiler: {options.line_steps} steps, stats of {summary.worker_stats_merged} DataLoader "
          f"worker(s) merged, step time x{summary.line_overhead:.2f} unprofiled")
    print(f"torch.profiler: {options.trace.active} active steps, step time "
          f"x{summary.trace_overhead:.2f} unprofiled, peak tensor memory "
          f"{summary.peak_tensor_memory_bytes / 2**20:.1f} MiB")
    print("files: " + ", ".join(summary.files))
    return 0


def _cmd_sweep(args) -> int:
    from bench.config.plan import load_sweep
    from bench.run.sweep import run_sweep

    plan = load_sweep(args.config, data_override=args.data_root, max_points=args.max_points)
    out = Path(args.out or DEFAULT_REPORTS / plan.name)
    if args.address and args.executor != "ray":
        raise SettingError("--address names a Ray cluster: pass it with --executor ray")
    if args.executor == "ray":
        from bench.run.ray_executor import RayExecutor

        executor = RayExecutor(address=args.address)
    else:
        from bench.run.executors import FreshProcessExecutor, InProcessExecutor

        executor = FreshProcessExecutor() if args.executor == "fresh-process" else InProcessExecutor()
    summary = run_sweep(plan, out, executor=executor)
    print(f"{summary.timed} point(s) timed, {summary.already_done} already done, "
          f"{summary.failed} failed, {summary.skipped} skipped (device absent, or a variant that does not apply)")
    print(f"results: {out / 'results.jsonl'}, {summary.results_csv}, {summary.ratios_csv}")
    if summary.profiled or summary.profile_failed:
        print(f"profiles: {summary.profiled} written, {summary.profile_failed} failed, under "
              f"{out / 'profiles'}")
    if summary.interrupted:
        return 130
    return 1 if summary.failed or summary.profile_failed else 0


def _cmd_study(args) -> int:
    from bench.study.report import render_study_report
    from bench.study.runner import run_study
    from bench.study.spec import STUDY_OPTIONS, load_study, stored_record

    study = load_study(args.config, data_override=args.data_root, max_points=args.max_points,
                       overrides=given_flags(args, STUDY_OPTIONS))
    out = Path(args.out or DEFAULT_REPORTS / study.plan.name)
    summary = run_study(study, out)
    print(f"{summary.trained} run(s) trained, {summary.already_done} already done, "
          f"{summary.failed} failed, {summary.skipped} skipped (device absent)")
    if summary.interrupted:
        return 130
    page = render_study_report(out, out / REPORT, stored_record(out))
    print(f"report: {page.resolve()}")
    return 1 if summary.failed else 0


def _cmd_check(args) -> int:
    """Each point's variants against their references (bench.measure.equivalence), stored beside
    the sweep's results for the report; exit status 1 when any check failed."""
    import traceback

    import torch

    from bench.config.plan import load_sweep
    from bench.measure.data import data_state, dataset_key, listed_dataset
    from bench.measure.environment import capture_environment
    from bench.measure.equivalence import Check, check_point, checks_for
    from bench.plugins.checks import check_plugins
    from bench.plugins.reference import NotApplicable
    from bench.results.rows import CheckRow
    from bench.results.store import ResultStore
    from bench.run.core import new_run_id
    from bench.run.data_prep import prepare_data

    plan = load_sweep(args.config, data_override=args.data_root, max_points=args.max_points)
    options = check_options({**plan.check, **given_flags(args, CHECK_OPTIONS)}, "[check] and flags")
    points = [p for p in plan.points if p.skip_reason is None and checks_for(p.settings)]
    out = Path(args.out or DEFAULT_REPORTS / plan.name)
    if (out / STUDY_RECORD_JSON).is_file():
        raise SettingError(f"{out} holds a study's runs, and check stores its verdicts beside a sweep's "
                           "results: pass the sweep's own --out, or a fresh folder")
    check_plugins([p.settings for p in points])
    prepare_data((p.settings for p in points), sys.stderr)
    failed = checked = skipped = without = 0
    states: dict = {}  # data set → what it is (bench.measure.data.data_state)
    store = ResultStore(out)
    with store.exclusive():
        for point in points:
            unbuilt = False  # its checks' verdicts are the one line printed where it raised
            try:
                checks = check_point(point.settings, options)
            except NotApplicable as why:  # the variant does not apply to this model or data
                print(f"{point.label} | skipped: {why}")
                skipped += 1
                continue
            except Exception as error:  # one point's failure is its checks' verdict, not the end
                # its plug-in's code raised building it: one line saying where; the agreement is a
                # port's claim, which a point that cannot be built never got to make, so no
                # agreement verdict is stored for it
                where = traceback.extract_tb(error.__traceback__)[-1]
                problem = f"{type(error).__name__}: {error} (at {where.filename}:{where.lineno})"
                print(f"{point.label} | FAILED: the point could not be built to check: {problem}")
                checks = [Check(c, "", False, (problem,), "the point could not be built")
                          for c in checks_for(point.settings) if c != "agreement"]
                checked, failed, unbuilt = checked + max(1, len(checks)), failed + max(1, len(checks)), True
                if not checks:
                    continue
            if not checks:  # a model that declares no port: nothing of it to compare
                without += 1
                continue
            cfg = point.config()
            key = dataset_key(cfg)
            if key not in states:  # once per data set, not per point
                try:
                    states[key] = data_state(listed_dataset(cfg))
                except Exception:  # the checks above said why; the row still records the machine
                    states[key] = None
            env = capture_environment(torch.device(point.settings.device), point.settings.flush_denormal,
                                      states[key], cfg.plugins())
            run = {"sweep": plan.name, "run_id": new_run_id(), "point_id": point.point_id,
                   "group_id": point.group_id, "settings": point.settings}
            store.append([CheckRow(**run, component=c.component, reference_variant=c.reference_variant,
                                   passed=c.passed, problems=list(c.problems), what=c.what, env=env,
                                   figures=c.figures)
                          for c in checks])
            for c in checks if not unbuilt else ():  # an unbuilt point's: counted and said above
                checked += 1
                failed += not c.passed
                verdict = ("FAILED: " if not c.passed else "differs by design, as declared: " if c.problems
                           else "passed") + "; ".join(c.problems[:3])
                print(f"{point.label} | {c.component}: {verdict}")
    print(f"{checked} check(s) of {len(points) - skipped - without} point(s) ({skipped} skipped: a variant that does "
          f"not apply), {failed} failed; stored in {store.path}")
    return 1 if failed else 0


def _cmd_report(args) -> int:
    out = Path(args.out or (Path(args.results) / REPORT if args.results else DEFAULT_REPORTS / REPORT))
    with writes_into(out, "pass --out with a folder you can write (snn-bench report RESULTS --out DIR)"):
        return _render(args, out)


def _render(args, out: Path) -> int:
    from bench.report.render import render_report

    if args.results and (Path(args.results) / SWEEP_COPY).is_file():
        from bench.study.report import render_study_report, study_runs
        from bench.study.spec import stored_record

        if study_runs(Path(args.results))[0]:  # a study's results: its own page
            if args.baseline or args.benchmark_run or args.benchmark_baseline:
                raise SettingError(f"{args.results} holds a study: --baseline and --benchmark-run compare "
                                   "sweeps and benchmark runs, and a study's page has no baseline; drop them")
            print(f"report: {render_study_report(args.results, out, stored_record(args.results)).resolve()}")
            return 0
    page = render_report(args.results, out, baseline_dir=args.baseline, threshold=args.threshold,
                         benchmark_run=args.benchmark_run, benchmark_baseline=args.benchmark_baseline)
    print(f"report: {page.resolve()}")
    return 0


def _cmd_list(args) -> int:
    from bench.config.devices import installed_device_absence
    from bench.config.plan import load_sweep
    from bench.results.store import ResultStore, completed_points, completed_runs
    from bench.run.progress import (
        estimate_group_seconds,
        estimate_profile_seconds,
        format_duration,
    )

    plan = load_sweep(args.config, data_override=args.data_root, max_points=args.max_points,
                      judge=installed_device_absence)  # listing never loads torch
    stored = ResultStore(args.out).rows() if args.out else []
    done = completed_points(stored)
    print(f"sweep {plan.name!r} from {plan.source}: {len(plan.points)} points in "
          f"{len(plan.groups)} group(s) timed side by side"
          + (f"; {plan.duplicates} duplicate(s) dropped" if plan.duplicates else ""))
    if plan.description:
        print(plan.description)
    # the settings that vary across the points are the columns; the rest hold for all of them
    varying = [s.name for s in SETTINGS if len({repr(getattr(p.settings, s.name)) for p in plan.points}) > 1]
    fixed = [f"{s.name}={show_value(getattr(plan.points[0].settings, s.name))}" for s in SETTINGS
             if s.name not in varying] if plan.points else []
    if fixed:
        print("every point: " + ", ".join(fixed))
    if len(plan.points) > LIST_ALL_UP_TO and not args.all:
        _summarise_points(plan, varying, done)
    elif plan.points:
        _point_table(plan.points, varying, done)
    for reason in dict.fromkeys(p.skip_reason for p in plan.points if p.skip_reason):
        print(f"skipped: {reason}")
    groups = plan.pending(completed_runs(stored))  # each group run still to time
    eta = sum(estimate_group_seconds([p.settings for p in g]) for g in groups)
    profiled = plan.profiled_points()
    if profiled:
        options = plan.profile.options
        steps = options.plain_steps + options.line_steps + options.trace.steps
        eta += sum(estimate_profile_seconds(p.settings, steps) for p in profiled)
        print(f"{len(profiled)} point(s) profiled after timing ([profile])")
    print(f"{sum(map(len, groups))} point run(s) to time; rough ETA {format_duration(eta)} "
          "(calibrated on a 2-core CPU; the sweep rescales it as it goes)")
    return 0


def _status(point, done: set[str]) -> str:
    return "done" if point.point_id in done else "skip (device absent)" if point.skip_reason else "to run"


def _point_table(points, varying: list[str], done: set[str]) -> None:
    """One line per point: its id, group, the settings that vary, and its status."""
    widths = {n: max(len(n), *(len(show_value(getattr(p.settings, n))) for p in points)) for n in varying}
    header = f"{'id':<17}{'group':<17}" + "".join(f"{n:<{widths[n] + 2}}" for n in varying) + "status"
    print(header)
    print("-" * len(header))
    for p in points:
        print(f"{p.point_id:<17}{p.group_id:<17}"
              + "".join(f"{show_value(getattr(p.settings, n)):<{widths[n] + 2}}" for n in varying)
              + _status(p, done))


def _summarise_points(plan, varying: list[str], done: set[str]) -> None:
    """A large sweep in a few lines: each varying setting's values and counts, and the status."""
    for name in varying:
        counts = Counter(show_value(getattr(p.settings, name)) for p in plan.points)
        print(f"  {name}: " + ", ".join(f"{value} ({n})" for value, n in counts.items()))
    status = Counter(_status(p, done) for p in plan.points)
    print("  status: " + ", ".join(f"{n} {s}" for s, n in status.items())
          + " (list --all prints every point)")


def options_reference() -> str:
    """Every table of options as Markdown: point settings, [study], [profile] and [check]. docs/settings.md
    holds exactly this (a test checks), so the docs never drift from the code."""
    from bench.study.spec import STUDY_OPTIONS

    return "\n".join([
        "## Point settings", "", "The keys of a sweep file's `[settings]`, `[grid]` and `[[points]]`, "
        "and the flags of `snn-bench run` and `profile`.", "", markdown_table(), "",
        "## `[study]`", "", "A study file's options (`snn-bench study`).", "",
        options_table(STUDY_OPTIONS), "",
        "## `[profile]`", "", "A sweep file's `[profile]` table (besides `match`), and the flags of "
        "`snn-bench profile`.", "", options_table(PROFILE_OPTIONS), "",
        "## `[check]`", "", "A sweep file's `[check]` table, and the flags of `snn-bench check`.", "",
        options_table(CHECK_OPTIONS)])


def _cmd_settings(args) -> int:
    print(options_reference())
    return 0


def _add_plan_arguments(command: argparse.ArgumentParser, kind: str, unit: str) -> None:
    """What a sweep and a study both take: where results go, the data, the size limit."""
    command.add_argument("config", help=f"{kind} file (TOML), e.g. bench/configs/"
                                        f"{'default' if kind == 'sweep' else kind}.toml")
    command.add_argument("--out", help=f"results directory (default: reports/<{kind} name>); "
                                       "rerunning into it resumes")
    command.add_argument("--data-root", help=f"data root for every {unit[:-1]}, overriding the file's data")
    command.add_argument("--max-points", type=int, default=MAX_POINTS,
                         help=f"refuse a {kind} of more {unit} than this (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snn-bench",
        description="Benchmark and profile a DeepR-trained spiking network on DVS Gesture.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_data_commands(commands)
    add_cache_commands(commands)

    run = commands.add_parser("run", help="time the stages of training steps at one point")
    add_setting_flags(run)
    run.add_argument("--json", help="also write the full result (samples, environment) here")
    run.set_defaults(func=_cmd_run)

    profile = commands.add_parser(
        "profile", help="line_profiler and torch.profiler passes over one point's training steps")
    add_setting_flags(profile)
    profile.add_argument("--out", help="output directory (default: reports/profiles/<point id>)")
    add_flags(profile.add_argument_group("profile options (a sweep's [profile] keys)"), PROFILE_OPTIONS)
    profile.set_defaults(func=_cmd_profile)

    sweep = commands.add_parser("sweep", help="time every point of a sweep file (resumable)")
    _add_plan_arguments(sweep, "sweep", "points")
    sweep.add_argument("--executor", choices=("fresh-process", "in-process", "ray"), default="fresh-process",
                       help="where timing groups run: one after another here, each of the sweep's "
                            "runs in a fresh process (default) or all in this one (in-process: "
                            "runs then share a process, so they are less independent), or as "
                            "Ray tasks, each holding its threads + workers in CPUs (pip install "
                            "'snn-bench[ray]')")
    sweep.add_argument("--address", help="the Ray cluster (--executor ray); default $RAY_ADDRESS, "
                                         "else a local Ray instance started for this sweep")
    sweep.set_defaults(func=_cmd_sweep)

    study = commands.add_parser("study", help="train every run of a study file and judge the DeepR "
                                               "claims (resumable)")
    _add_plan_arguments(study, "study", "runs")
    from bench.study.spec import STUDY_OPTIONS  # numpy and scipy, not torch: only where it is used

    add_flags(study.add_argument_group("study options (a study file's [study] keys; a flag overrides "
                                       "the file)"), STUDY_OPTIONS)
    study.set_defaults(func=_cmd_study)

    check = commands.add_parser("check", help="check that each point's variants compute what their "
                                               "references compute (spikes, gradients, frames, rule invariants)")
    _add_plan_arguments(check, "sweep", "points")
    add_flags(check.add_argument_group("check options (a sweep file's [check] keys; a flag overrides the "
                                       "file)"), CHECK_OPTIONS)
    check.set_defaults(func=_cmd_check)

    report = commands.add_parser("report", help="render a results directory as HTML and PNG")
    report.add_argument("results", nargs="?", help="a directory written by snn-bench sweep")
    report.add_argument("--baseline", help="another results directory to compare against")
    report.add_argument("--out", help="output directory (default: RESULTS/report, else reports/report)")
    report.add_argument("--benchmark-run", help="a saved pytest-benchmark run (.benchmarks/<machine>/"
                        "NNNN_*.json), or a directory: its newest run")
    report.add_argument("--benchmark-baseline", help="another saved run to compare --benchmark-run with")
    report.add_argument("--threshold", type=float, default=REGRESSION_THRESHOLD,
                        help="flag baseline changes beyond this fraction, for sweeps and saved pytest-benchmark runs "
                             "(default: %(default)s, bench/regression.py)")
    report.set_defaults(func=_cmd_report)

    listing = commands.add_parser("list", help="show a sweep's planned points and a rough ETA")
    listing.add_argument("config", help="sweep file (TOML)")
    listing.add_argument("--out", help="results directory: mark the points already done there")
    listing.add_argument("--data-root", help="data root for every point, as for sweep")
    listing.add_argument("--max-points", type=int, default=MAX_POINTS,
                         help="refuse a sweep of more points than this (default: %(default)s)")
    listing.add_argument("--all", action="store_true",
                         help=f"list every point even when there are more than {LIST_ALL_UP_TO}")
    listing.set_defaults(func=_cmd_list)

    table = commands.add_parser("settings", help="list every option: point settings, [study] and [profile] "
                                "keys, with flag, type, default and help (as Markdown)")
    table.set_defaults(func=_cmd_settings)
    return parser


def _warning_line(message, category, filename, lineno, line=None) -> str:
    """A warning as the command line prints it: one line, the message alone (it names the fix)."""
    return f"snn-bench: warning: {message}\n"


def _once(show):
    """`show` (warnings.showwarning) for the first warning of each message only."""
    said: set[tuple[str, type]] = set()

    def show_once(message, category, filename, lineno, file=None, line=None):
        if (str(message), category) not in said:
            said.add((str(message), category))
            show(message, category, filename, lineno, file, line)
    return show_once


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    point_tool_caches(cache_root() / "tools")  # before matplotlib, numba or torch is imported
    formatwarning, warnings.formatwarning = warnings.formatwarning, _warning_line
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _once(warnings.showwarning)  # a damaged file read twice: said once
            return args.func(args)
    except UserError as error:
        print(f"snn-bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("snn-bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head`: stop quietly
        sys.stderr.close()
        return 0
    finally:
        warnings.formatwarning = formatwarning


if __name__ == "__main__":
    sys.exit(main())
