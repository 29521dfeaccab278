"""`snn-bench` (also `python -m bench`): the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.data_cli import add_data_commands
from bench.env import config_hash
from bench.interleave import run_point
from bench.plan import SweepConfigError, load_sweep
from bench.point import DeviceUnavailableError, PointConfig
from bench.profiling.run import ProfileOptions, profile_point
from bench.profiling.selection import OPTION_KEYS, options_from
from bench.progress import estimate_group_seconds, estimate_profile_seconds, format_duration
from bench.report.compare import DEFAULT_THRESHOLD
from bench.report.load import NoResultsError
from bench.report.pytest_benchmarks import BenchmarkRunError
from bench.report.render import render_report
from bench.settings import normalise, point_config
from bench.store import ResultStore, StoreBusyError
from bench.sweep import pending_groups, run_sweep
from bench.table import stage_table
from snn.data.dvsgesture import (
    DATA_ROOT_ENV,
    CorruptEventFileError,
    DatasetNotFoundError,
)
from snn.data.transforms import FRAMINGS
from snn.deepr import VARIANTS as DEEPR_VARIANTS
from snn.model import FORWARDS, LAYER_TYPES

# Errors that are the user's to fix: printed as one clear line, never as a traceback.
USER_ERRORS = (DatasetNotFoundError, CorruptEventFileError, DeviceUnavailableError,
               FileExistsError, ValueError, SweepConfigError, StoreBusyError, NoResultsError,
               BenchmarkRunError)


def _settings_from_args(args) -> dict:
    return {
        "data": args.data_root, "layer_type": args.layer_type, "num_steps": args.time_steps,
        "batch_size": args.batch_size, "num_workers": args.num_workers,
        "variant": f"deepr:{args.deepr}+forward:{args.forward}+framing:{args.framing}",
        "connectivity": args.connectivity,
        "device": args.device, "threads": args.threads, "flush_denormal": args.flush_denormal,
        "lr": args.lr, "warmup_steps": args.warmup, "measured_steps": args.steps, "seed": args.seed,
    }


def _cmd_run(args) -> int:
    cfg = point_config(_settings_from_args(args))
    result = run_point(cfg)
    env = result.environment
    rewiring = "dense" if cfg.deepr.variant == "none" else (
        f"DeepR {cfg.deepr.variant} at connectivity {cfg.deepr.connectivity}")
    print(f"{cfg.net.layer_type} net ({cfg.net.forward} forward, {cfg.frames.framing} framing), {rewiring}, batch {cfg.loader.batch_size}, {cfg.net.num_steps} time steps, "
          f"num_workers {cfg.loader.num_workers}, device {env['device']}, threads {env['threads']}, "
          f"torch {env['torch']}, {'synthetic' if env['synthetic_data'] else 'real'} data at "
          f"{env['data_root']}")
    print(f"{cfg.warmup_steps} warm-up + {cfg.measured_steps} measured steps; "
          f"epochs started while measuring: {result.epoch_restarts}")
    print(stage_table(result.stage_samples, result.step_samples))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2, default=str))
        print(f"result written to {args.json}")
    return 0


def _cmd_profile(args) -> int:
    settings = normalise(_settings_from_args(args))
    out = Path(args.out or Path("reports") / "profiles" / config_hash(settings))
    options = options_from({k: getattr(args, k) for k in OPTION_KEYS})
    summary = profile_point(point_config(settings), out, options)
    line, trace = summary["line_profiler"], summary["torch_profiler"]
    print(f"profiled {settings['layer_type']} {settings['variant']} at connectivity "
          f"{settings['connectivity']:g}, num_workers {settings['num_workers']} -> {out}")
    print(f"line_profiler: {args.line_steps} steps, stats of {line['worker_stats_merged']} DataLoader "
          f"worker(s) merged, step time x{summary['overhead']['line_profiler']:.2f} unprofiled")
    print(f"torch.profiler: {args.trace_active} active steps, step time "
          f"x{summary['overhead']['torch_profiler']:.2f} unprofiled, peak tensor memory "
          f"{trace['peak_tensor_memory_bytes'] / 2**20:.1f} MiB")
    print("files: " + ", ".join(summary["files"]))
    return 0


def _cmd_sweep(args) -> int:
    plan = load_sweep(args.config, data_override=args.data_root)
    out = Path(args.out or Path("reports") / plan.name)
    summary = run_sweep(plan, out)
    print(f"{summary.timed} point(s) timed, {summary.already_done} already done, "
          f"{summary.failed} failed, {summary.skipped} skipped (device absent)")
    print(f"results: {out / 'results.jsonl'}, {summary.results_csv}, {summary.ratios_csv}")
    if summary.profiled or summary.profile_failed:
        print(f"profiles: {summary.profiled} written, {summary.profile_failed} failed, under "
              f"{out / 'profiles'}")
    if summary.interrupted:
        return 130
    return 1 if summary.failed or summary.profile_failed else 0


def _cmd_report(args) -> int:
    out = Path(args.out or (Path(args.results) / "report" if args.results else Path("reports") / "report"))
    page = render_report(args.results, out, baseline_dir=args.baseline, threshold=args.threshold,
                         benchmark_run=args.benchmark_run, benchmark_baseline=args.benchmark_baseline)
    print(f"report: {page.resolve()}")
    return 0


def _cmd_list(args) -> int:
    plan = load_sweep(args.config, data_override=args.data_root)
    done = ResultStore(args.out).completed_ids() if args.out else set()
    print(f"sweep {plan.name!r} from {plan.source}: {len(plan.points)} points in "
          f"{len(plan.groups)} group(s) timed side by side"
          + (f"; {plan.duplicates} duplicate(s) dropped" if plan.duplicates else ""))
    if plan.description:
        print(plan.description)
    header = f"{'id':<17}{'group':<17}{'layer':<8}{'variant':<16}{'c':>6}{'workers':>8}  {'device':<7}status"
    print(header)
    print("-" * len(header))
    for p in plan.points:
        s = p.settings
        status = "done" if p.point_id in done else "skip (device absent)" if p.skip_reason else "to run"
        print(f"{p.point_id:<17}{p.group_id:<17}{s['layer_type']:<8}{s['variant']:<16}"
              f"{s['connectivity']:>6g}{s['num_workers']:>8}  {s['device']:<7}{status}")
    for reason in dict.fromkeys(p.skip_reason for p in plan.points if p.skip_reason):
        print(f"skipped: {reason}")
    groups = pending_groups(plan, done)
    eta = sum(estimate_group_seconds([p.settings for p in g]) for g in groups)
    profiled = plan.profiled_points()
    if profiled:
        options = plan.profile.options
        steps = options.plain_steps + options.line_steps + options.trace.steps
        eta += sum(estimate_profile_seconds(p.settings, steps) for p in profiled)
        print(f"{len(profiled)} point(s) profiled after timing ([profile])")
    print(f"{sum(map(len, groups))} point(s) to run; rough ETA {format_duration(eta)} "
          "(calibrated on a 2-core CPU; the sweep rescales it as it goes)")
    return 0


def _add_point_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that describe one point (shared by run and profile)."""
    point = PointConfig()
    parser.add_argument("--data-root", help=f"data root (default: ${DATA_ROOT_ENV})")
    parser.add_argument("--layer-type", choices=LAYER_TYPES, default=point.net.layer_type)
    parser.add_argument("--time-steps", type=int, default=point.net.num_steps)
    parser.add_argument("--batch-size", type=int, default=point.loader.batch_size)
    parser.add_argument("--num-workers", type=int, default=point.loader.num_workers)
    parser.add_argument("--deepr", choices=DEEPR_VARIANTS, default=point.deepr.variant,
                        help="rewiring variant (none: dense)")
    parser.add_argument("--forward", choices=FORWARDS, default=point.net.forward,
                        help="forward pass: the notebook loop (reference) or multistep (same spikes)")
    parser.add_argument("--framing", choices=FRAMINGS, default=point.frames.framing,
                        help="event framing: tonic's transforms (reference) or bincount (same frames)")
    parser.add_argument("--connectivity", type=float, default=0.1,
                        help="fraction of connections DeepR keeps active, in (0, 1]")
    parser.add_argument("--device", default=point.device, help="cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: one per core); recorded")
    parser.add_argument("--flush-denormal", action="store_true",
                        help="flush denormal floats to zero (faster on CPUs; recorded)")
    parser.add_argument("--lr", type=float, default=point.lr)
    parser.add_argument("--warmup", type=int, default=point.warmup_steps)
    parser.add_argument("--steps", type=int, default=point.measured_steps, help="measured steps")
    parser.add_argument("--seed", type=int, default=point.seed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snn-bench",
        description="Benchmark and profile a DeepR-trained spiking network on DVS Gesture.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_data_commands(commands)

    run = commands.add_parser("run", help="time the stages of training steps at one point")
    _add_point_arguments(run)
    run.add_argument("--json", help="also write the full result (samples, environment) here")
    run.set_defaults(func=_cmd_run)

    profile = commands.add_parser(
        "profile", help="line_profiler and torch.profiler passes over one point's training steps")
    _add_point_arguments(profile)
    profile.add_argument("--out", help="output directory (default: reports/profiles/<point id>)")
    defaults = ProfileOptions()
    profile.add_argument("--line-steps", type=int, default=defaults.line_steps,
                         help="steps under line_profiler")
    profile.add_argument("--plain-steps", type=int, default=defaults.plain_steps,
                         help="unprofiled steps, the reference for the overheads")
    profile.add_argument("--trace-wait", type=int, default=defaults.trace.wait)
    profile.add_argument("--trace-warmup", type=int, default=defaults.trace.warmup)
    profile.add_argument("--trace-active", type=int, default=defaults.trace.active,
                         help="steps recorded in the torch.profiler trace")
    profile.set_defaults(func=_cmd_profile)

    sweep = commands.add_parser("sweep", help="time every point of a sweep file (resumable)")
    sweep.add_argument("config", help="sweep file (TOML), e.g. bench/configs/default.toml")
    sweep.add_argument("--out", help="results directory (default: reports/<sweep name>); "
                       "rerunning into it resumes")
    sweep.add_argument("--data-root", help="data root for every point, overriding the file's data")
    sweep.set_defaults(func=_cmd_sweep)

    report = commands.add_parser("report", help="render a results directory as HTML and PNG")
    report.add_argument("results", nargs="?", help="a directory written by snn-bench sweep")
    report.add_argument("--baseline", help="another results directory to compare against")
    report.add_argument("--out", help="output directory (default: RESULTS/report, else reports/report)")
    report.add_argument("--benchmark-run", help="a saved pytest-benchmark run (.benchmarks/<machine>/"
                        "NNNN_*.json), or a directory: its newest run")
    report.add_argument("--benchmark-baseline", help="another saved run to compare --benchmark-run with")
    report.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="flag baseline changes beyond this fraction (default: %(default)s)")
    report.set_defaults(func=_cmd_report)

    listing = commands.add_parser("list", help="show a sweep's planned points and a rough ETA")
    listing.add_argument("config", help="sweep file (TOML)")
    listing.add_argument("--out", help="results directory: mark the points already done there")
    listing.add_argument("--data-root", help="data root for every point, as for sweep")
    listing.set_defaults(func=_cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as error:
        print(f"snn-bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("snn-bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head`: stop quietly
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
