"""`snn-bench cache`: what snn-bench keeps in its per-user cache, and pruning the frame cache.

The frame cache keeps one folder per key (snn/data/frame_cache.py): a key changes with the data's
content, its root and every frame parameter, so old folders pile up as data and settings change.
`cache prune FILE...` keeps the folders the given sweep files' `cache:frames` points use and
removes the rest (and any staging file a killed fill left behind in them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

from bench.config.settings import frame_cache_root, synthetic_root


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def _points(path: str, data_override: str | None):
    """The points of a sweep file, or of a study file (one per run: its [study] table)."""
    from bench.config.plan import load_sweep
    from bench.config.sweepfile import read_document
    from bench.study.spec import load_study

    if "study" in read_document(Path(path)):
        return load_study(path, data_override=data_override).plan.points
    return load_sweep(path, data_override=data_override).points


def frame_cache_keys(sweep_files: list[str], data_override: str | None) -> set[str]:
    """The frame-cache folders the `cache:frames` points of these sweeps read (both splits)."""
    from bench.config.variants import parse_variant
    from bench.measure.data import cached_split, open_dataset, uses_frame_cache
    from bench.run.data_prep import prepare_data

    keys = set()
    for sweep in sweep_files:
        points = [p for p in _points(sweep, data_override)
                  if parse_variant(p.settings.variant).of("cache") == "frames"]
        prepare_data((p.settings for p in points), sys.stderr)
        # the key depends on the data and the frames only: many points share one
        configs = {(c.dataset, c.dataset_options, c.data_root, c.frames, c.bad_samples, c.frame_cache): c
                   for c in (p.config() for p in points)}
        for cfg in configs.values():
            spec = open_dataset(cfg)
            if uses_frame_cache(spec, cfg):
                keys.update(cached_split(spec, train, cfg).directory.name for train in (True, False))
    return keys


def _cmd_prune(args) -> int:
    from snn.data.frame_cache import readers  # torch: never on `snn-bench --help`

    root = frame_cache_root()
    keep = frame_cache_keys(args.sweeps, args.data_root)
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    stale = {p: _size(p) for p in folders if p.name not in keep}
    in_use = {}
    for folder, size in stale.items():
        if (users := readers(folder)) or (not args.dry_run and not _remove(folder, readers)):
            in_use[folder] = users or readers(folder)
            print(f"keeping {folder}: a running process reads it ({', '.join(in_use[folder])}); prune again "
                  "when it has finished")
            continue
        print(f"{'would remove' if args.dry_run else 'removed'} {folder} ({size / 2**20:.1f} MiB)")
    freed = sum(size for folder, size in stale.items() if folder not in in_use)
    print(f"{len(stale) - len(in_use)} of {len(folders)} frame-cache folder(s) "
          f"{'to remove' if args.dry_run else 'removed'}, {freed / 2**20:.1f} MiB; kept "
          f"{len(folders) - len(stale)} that the file(s) use and {len(in_use)} in use")
    return 0


def _remove(folder: Path, readers) -> bool:
    """Remove a key folder unless a reader registered in it meanwhile: it is first renamed out of
    the way (a reader starting now fills a fresh one), its readers read again, and put back if
    one appeared. Returns whether it was removed."""
    doomed = folder.with_name(f".pruning-{folder.name}-{os.getpid()}")
    try:
        folder.rename(doomed)
    except OSError:  # gone already, or refilled under its name by a reader starting now
        return not folder.exists()
    if readers(doomed):
        with contextlib.suppress(OSError):
            doomed.rename(folder)
        return False
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def _cmd_show(args) -> int:
    for name, path in (("synthetic data", synthetic_root()), ("frame cache", frame_cache_root())):
        folders = len([p for p in path.iterdir() if p.is_dir()]) if path.is_dir() else 0
        print(f"{name}: {path} ({_size(path) / 2**20:.1f} MiB" + (f", {folders} key folder(s))" if
                                                                    name == "frame cache" else ")"))
    return 0


def add_cache_commands(commands) -> None:
    cache = commands.add_parser("cache", help="show snn-bench's cache, or prune the frame cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="CACHE_COMMAND")
    show = cache_commands.add_parser("show", help="where the cache is and how large")
    show.set_defaults(func=_cmd_show)
    prune = cache_commands.add_parser("prune", help="remove frame-cache folders no given sweep file uses")
    prune.add_argument("sweeps", nargs="*", default=["bench/configs/default.toml"],
                       help="sweep or study files whose cache:frames points' folders are kept (default: "
                            "%(default)s); a folder a running process reads is kept too")
    prune.add_argument("--data-root", help="data root for every point, as for sweep")
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    prune.set_defaults(func=_cmd_prune)
