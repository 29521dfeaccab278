"""The results store: an append-only JSONL file of typed rows (bench.results.rows) per results directory,
and its CSV exports.

Crash safety rests on two rules. Rows of one group run are appended with a single `write` on an
O_APPEND descriptor, then fsync'd: a run is in the file whole or not at all, except for a torn
final line when the process dies inside that write. Readers ignore an unterminated last line,
and the next writer cuts it off before appending. So `kill -9` loses at most the run in flight.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from collections.abc import Iterable
from pathlib import Path

import filelock
import pandas as pd

from bench.errors import UserError
from bench.measure.stages import ROW_STAGES
from bench.results.combine import combined_rows
from bench.results.paths import LOCK, RATIOS_CSV, RESULTS, RESULTS_CSV
from bench.results.rows import (
    ErrorRow,
    RatioRow,
    Row,
    SkippedRow,
    SchemaVersionError,
    StageRow,
    WorkloadRow,
    flatten,
    row_from_dict,
    to_json,
)

MIN_FREE_BYTES = 64 * 2**20  # checked before a sweep times anything (rows, CSVs, report, profiles)


class StoreBusyError(UserError, RuntimeError):
    """Another sweep is writing into the same directory."""


class StoreWriteError(UserError, OSError):
    """A group's rows could not be written (disk full, read-only); none of them were kept."""


def write_csv(rows: Iterable[Row], path: Path, samples: bool = True) -> Path:
    """Rows flattened (bench.results.rows.flatten) into a CSV, written atomically; lists as JSON."""
    frame = pd.DataFrame([flatten(r, samples=samples) for r in rows])
    if "samples_s" in frame:
        frame["samples_s"] = frame["samples_s"].map(json.dumps)
    temporary = path.with_suffix(".csv.tmp")
    frame.to_csv(temporary, index=False)
    os.replace(temporary, path)
    return path


def completed_runs(rows: list[Row]) -> set[tuple[str, int]]:
    """(point id, run index) of every run of a point these rows hold every stage row of
    (ResultStore._complete_runs), and every run of a point whose variant was found not to apply
    to its model or data (a final skip): the group runs a resumed sweep leaves out."""
    final = {(r.point_id, i) for r in rows if isinstance(r, SkippedRow) and r.cause == "variant"
             for i in range(r.settings.runs)}
    last = ResultStore._complete_runs(rows)
    # A run the machine disturbed (bench.measure.interference) is kept for the report, which says
    # so, and timed again by the next resume: "rerun on a quiet machine" is that command
    # (disturbed_reruns = 0 asks for no rerun of any kind).
    disturbed = {(r.point_id, r.run_index) for r in rows if isinstance(r, StageRow) and r.env.get("disturbed")
                 and r.settings.disturbed_reruns > 0 and last.get((r.point_id, r.run_index)) == r.run_id}
    return (set(last) - disturbed) | final


def completed_points(rows: list[Row]) -> set[str]:
    """The point ids whose every run (its `runs` setting) is complete, or finally skipped."""
    runs = completed_runs(rows)
    settings = {r.point_id: r.settings for r in rows}
    return {pid for pid, s in settings.items() if all((pid, i) in runs for i in range(s.runs))}


class ResultStore:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.path = self.directory / RESULTS
        if self.directory.exists() and not self.directory.is_dir():
            raise StoreWriteError(f"{self.directory} is a file, not a results directory: pass a "
                                  "folder as --out (or move the file aside)")
        if self.path.exists() and not self.path.is_file():
            raise StoreWriteError(f"{self.path} is not a file (a folder?), so no results can be read "
                                  f"or stored there: move it aside, or pass another --out")

    # -- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self):
        """Hold the directory for one writer: two sweeps into one store would race. The lock is
        filelock's (flock on POSIX, msvcrt on Windows), never held past this block."""
        try:  # the first write of a sweep: an unwritable --out fails here, before any timing
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / LOCK).touch()
        except OSError as error:
            raise StoreWriteError(f"cannot write to {self.directory} ({error.strerror}): pass a "
                                  "writable --out") from error
        free = shutil.disk_usage(self.directory).free
        if free < MIN_FREE_BYTES:
            raise StoreWriteError(f"{self.directory} has {free / 2**20:.1f} MiB free, less than the "
                                  f"{MIN_FREE_BYTES // 2**20} MiB a sweep's results and report need: "
                                  "free some space or pass another --out")
        lock = filelock.FileLock(self.directory / LOCK, timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout as error:
            raise StoreBusyError(
                f"another snn-bench sweep is writing to {self.directory}; wait for it to "
                "finish or pass a different --out") from error
        except OSError as error:
            raise StoreWriteError(f"cannot lock {self.directory / LOCK} ({error.strerror}): pass a "
                                  "writable --out") from error
        try:
            yield self
        finally:
            lock.release()

    def repair(self) -> int:
        """Cut a torn final line (a write cut short by a crash); returns the bytes dropped."""
        if not self.path.exists():
            return 0
        with open(self.path, "rb+") as handle:
            data = handle.read()
            if not data or data.endswith(b"\n"):
                return 0
            keep = data.rfind(b"\n") + 1
            handle.truncate(keep)
            os.fsync(handle.fileno())
        return len(data) - keep

    def append(self, rows: list[Row]) -> None:
        if not rows:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        dropped = self.repair()
        if dropped:
            warnings.warn(f"{self.path}: dropped a torn final line ({dropped} bytes) left by an "
                          "interrupted write; its point will be run again", stacklevel=2)
        payload = "".join(to_json(row.to_dict()) + "\n" for row in rows).encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise StoreWriteError(f"cannot write results to {self.path} ({error.strerror}): pass a "
                                  "writable --out") from error
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, payload)
            if written != len(payload):  # e.g. disk full
                raise OSError(f"short write: {written} of {len(payload)} bytes")
            os.fsync(fd)
        except OSError as error:
            os.ftruncate(fd, size)  # whole or nothing: no part of this group stays behind
            raise StoreWriteError(
                f"could not write {len(rows)} row(s) to {self.path} ({error}); none of them were "
                "kept. Free some space (or fix the folder) and run the same command again: the "
                "points of this group will be timed again") from error
        finally:
            os.close(fd)

    # -- reading -------------------------------------------------------------------------
    def rows(self) -> list[Row]:
        """Every complete row, oldest first (a torn final line is not a row). A row of another
        schema version raises SchemaVersionError naming both versions."""
        if not self.path.exists():
            return []
        lines = self.path.read_bytes().split(b"\n")
        complete, rows, bad = lines[:-1], [], []  # the last piece is "" or a torn line
        for number, line in enumerate(complete, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not a row")
                rows.append(row_from_dict(data, str(self.path)))
            except SchemaVersionError:  # another version's rows: refused whole, never skipped
                raise
            except (ValueError, TypeError, AttributeError, KeyError):  # not JSON, or not a row of any kind
                bad.append(number)
        if bad:
            warnings.warn(f"{self.path}: skipped unreadable line(s) {', '.join(map(str, bad[:20]))}"
                          + (" ..." if len(bad) > 20 else "") + "; they are not JSON, or not a row of any "
                          "kind; a point that lost a row there is not complete and will be timed again",
                          stacklevel=2)
        if lines[-1].strip():  # a write cut short: said, as a damaged line is, never dropped silently
            warnings.warn(f"{self.path}: a torn final line ({len(lines[-1])} bytes, line {len(lines)}) left by "
                          "an interrupted write is not read; the point run it belonged to is not complete: "
                          "run the same sweep again to time it (the next write cuts the torn line)",
                          stacklevel=2)
        return rows

    @staticmethod
    def _complete_runs(rows: list[Row]) -> dict[tuple[str, int], str]:
        """(point id, run index) → the last group run that stored every stage row of that run
        of the point (a run missing any row, say to a damaged line, does not count: that run of
        the point is timed again)."""
        stages: dict[tuple[str, int, str], set[str]] = {}
        for r in rows:
            if isinstance(r, StageRow):
                stages.setdefault((r.point_id, r.run_index, r.run_id), set()).add(r.stage)
        last: dict[tuple[str, int], str] = {}
        for (point_id, run_index, run_id), seen in stages.items():  # dicts keep insertion order: oldest first
            if seen >= set(ROW_STAGES):
                last[point_id, run_index] = run_id
        return last

    def completed_ids(self) -> set[str]:
        return completed_points(self.rows())

    def current_rows(self, rows: list[Row] | None = None) -> list[Row]:
        """The latest word on each run of each point: the rows of the last group run that timed
        it, and ratios between two such runs; else its last error; a point with no run timed,
        its last skip. (Resuming retries errors, so the history keeps older rows.) Per run, as
        stored: bench.results.combine adds the figures across runs. `rows`: the store's rows,
        where the caller has read them already."""
        rows = self.rows() if rows is None else rows
        last_ok = self._complete_runs(rows)
        timed = {pid for pid, _ in last_ok}
        last_other: dict[tuple[str, int], Row] = {}
        for row in rows:
            if isinstance(row, (ErrorRow, SkippedRow)):
                last_other[row.point_id, row.run_index] = row
        current: list[Row] = [
            r for r in rows
            if (isinstance(r, (StageRow, WorkloadRow)) and last_ok.get((r.point_id, r.run_index)) == r.run_id)
            or (isinstance(r, RatioRow) and last_ok.get((r.point_id, r.run_index)) == r.run_id
                and last_ok.get((r.reference_point_id, r.run_index)) == r.reference_run_id)]
        current += [r for key, r in last_other.items() if key not in last_ok
                    and (isinstance(r, ErrorRow) or r.point_id not in timed)]
        return current

    def export_csv(self) -> tuple[Path, Path]:
        """results.csv (stage, error and skip rows) and ratios.csv, written atomically: each
        point's figures across its runs (run_index empty), then each run's (0, 1, ...)."""
        current = combined_rows(rows := self.current_rows()) + rows
        results = [r for r in current if not isinstance(r, (RatioRow, WorkloadRow))]
        ratios = [r for r in current if isinstance(r, RatioRow)]
        return (write_csv(results, self.directory / RESULTS_CSV),
                write_csv(ratios, self.directory / RATIOS_CSV))
