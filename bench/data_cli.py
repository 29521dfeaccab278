"""`snn-bench data synth|check|download`: getting, generating and checking DVS Gesture data."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from bench.config.settings import SYNTHETIC_DATA, data_path
from snn.data.synth import (
    SPLITS,
    SynthConfig,
    read_manifest,
    write_synthetic_dvsgesture,
)
from snn.names import DATA_ROOT_ENV

# One flag names a data root in every command: --data-root (--root is its older spelling here).
DATA_ROOT_FLAGS = ("--data-root", "--root")


def _cmd_synth(args) -> int:
    args.data_root = data_path(args.data_root)  # "synthetic": the per-user cache folder
    cfg = SynthConfig(train_per_class=args.train_per_class, test_per_class=args.test_per_class,
                      mean_events=args.mean_events, seed=args.seed)
    existing = read_manifest(args.data_root)
    if args.if_missing and existing is not None and existing["config"] == json.loads(
            json.dumps(asdict(cfg))):
        print(f"synthetic DVS Gesture already at {args.data_root} with these settings; kept it")
        return 0
    manifest = write_synthetic_dvsgesture(args.data_root, cfg)
    print(f"wrote synthetic DVS Gesture to {Path(args.data_root) / 'DVSGesture'}: "
          f"{manifest['samples']['train']} train and {manifest['samples']['test']} test samples, "
          f"~{cfg.mean_events} events each")
    return 0


def _cmd_check(args) -> int:
    from snn.data.dvsgesture import check_layout, describe_event_file, resolve_data_root

    root = resolve_data_root(data_path(args.data_root))
    bad = 0
    for split, (folder, _) in SPLITS.items():
        check_layout(root, train=split == "train")
        files = sorted((root / "DVSGesture" / folder).glob("**/*.npy"))
        every = max(1, len(files) // 10)
        for done, path in enumerate(files, 1):
            problem = describe_event_file(path)  # the loader's own checks (snn.data.events)
            if problem:
                bad += 1
                print(f"corrupt: {path}: {problem}")
            if done % every == 0 or done == len(files):
                print(f"  {split}: checked {done}/{len(files)} files", file=sys.stderr, flush=True)
        print(f"{split}: {len(files)} event files under {root / 'DVSGesture' / folder}")
    kind = "synthetic" if read_manifest(root) is not None else "real (no synthetic manifest)"
    print(f"data: {kind}; {bad} corrupt file(s)"
          + ("; fix or delete them, or set bad_samples = \"skip\" to leave them out" if bad else ""))
    return 1 if bad else 0


def _cmd_download(args) -> int:
    import tonic

    from snn.data.dvsgesture import DatasetNotFoundError

    root = Path(args.data_root).expanduser()
    print(f"downloading DVS Gesture (~3 GB) into {root / 'DVSGesture'} with tonic ...")
    try:
        for train in (True, False):
            tonic.datasets.DVSGesture(str(root), train=train)
    except OSError as error:  # URLError and socket errors are OSErrors
        raise DatasetNotFoundError(
            f"the download failed ({error}). Without network access, copy tonic's "
            f"ibmGestureTrain.tar.gz / ibmGestureTest.tar.gz into {root / 'DVSGesture'} and extract "
            "them there, or use synthetic data: snn-bench data synth --data-root DIR"
        ) from error
    print(f"done: pass --data-root {root} or set {DATA_ROOT_ENV}={root}")
    return 0


def add_data_commands(commands) -> None:
    """The `data` command and its actions, on the CLI's subparsers."""
    data = commands.add_parser("data", help="get, generate or check DVS Gesture data")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    synth = data_commands.add_parser("synth", help="write synthetic data in tonic's on-disk layout")
    synth.add_argument(*DATA_ROOT_FLAGS, dest="data_root", required=True,
                       help=f'data root (DVSGesture/ is written inside); "{SYNTHETIC_DATA}": the '
                       "per-user cache folder the sweeps use (see README)")
    defaults = SynthConfig()
    synth.add_argument("--train-per-class", type=int, default=defaults.train_per_class)
    synth.add_argument("--test-per-class", type=int, default=defaults.test_per_class)
    synth.add_argument("--mean-events", type=int, default=defaults.mean_events,
                       help="mean events per sample (real data: ~1e5-1e6)")
    synth.add_argument("--seed", type=int, default=defaults.seed)
    synth.add_argument("--if-missing", action="store_true",
                       help="keep data already written with the same settings")
    synth.set_defaults(func=_cmd_synth)
    check = data_commands.add_parser("check", help="check the layout and every event file")
    check.add_argument(*DATA_ROOT_FLAGS, dest="data_root", help=f"data root (default: ${DATA_ROOT_ENV})")
    check.set_defaults(func=_cmd_check)
    download = data_commands.add_parser("download", help="download the real dataset with tonic")
    download.add_argument(*DATA_ROOT_FLAGS, dest="data_root", required=True,
                          help="data root (DVSGesture/ is downloaded inside)")
    download.set_defaults(func=_cmd_download)
