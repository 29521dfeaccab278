"""The names of everything written into a results directory, defined once.

    DIR/results.jsonl            the store: typed rows, append-only (bench.results.store)
    DIR/results.csv, ratios.csv  flat exports of the store's current rows, and the figures across runs
    DIR/sweep.toml               a copy of the sweep (or study) file that was run
    DIR/study.json               a study's options as they ran (file and flags), and its runs' ids
    DIR/.lock                    held by the one sweep writing into DIR
    DIR/profiles/<point id>/     one profile per selected point; profile.json is its summary
    DIR/report/                  the default home of `snn-bench report DIR`: index.html,
                                 summary.md (its answers), PNGs, report.csv; for a study
                                 (`snn-bench study`), study.html and its PNGs
"""

from __future__ import annotations

from pathlib import Path

RESULTS = "results.jsonl"
RESULTS_CSV = "results.csv"
RATIOS_CSV = "ratios.csv"
SWEEP_COPY = "sweep.toml"
STUDY_RECORD_JSON = "study.json"
LOCK = ".lock"
PROFILES = "profiles"
PROFILE_SUMMARY = "profile.json"
# A profile's files (bench.profiling.run writes them, the report reads some of them).
LINES_TXT = "lines.txt"
LINES_CSV = "lines.csv"
TRACE = "trace.json.gz"
OPS_CSV = "ops.csv"
OPS_BY_SHAPE_CSV = "ops_by_shape.csv"
OPS_BY_STAGE_CSV = "ops_by_stage.csv"
PROFILE_ERROR = "error.txt"
LINE_WORKERS = "line-workers"  # each DataLoader worker's line stats, merged into lines.*
PROFILE_FILES = (PROFILE_SUMMARY, PROFILE_ERROR, LINES_TXT, LINES_CSV, TRACE, OPS_CSV,
                 OPS_BY_SHAPE_CSV, OPS_BY_STAGE_CSV, LINE_WORKERS)
REPORT = "report"
REPORT_CSV = "report.csv"
SUMMARY_MD = "summary.md"  # the report's answers as Markdown, beside index.html
STUDY_PAGE = "study.html"  # a study's report page (bench.study.report)
DEFAULT_REPORTS = Path("reports")  # where commands write when no --out is given


def profile_dir(results_dir: str | Path, point_id: str) -> Path:
    return Path(results_dir) / PROFILES / point_id
