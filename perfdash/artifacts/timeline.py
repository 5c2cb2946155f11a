"""The one reader of a run's time axis: `timeline.csv` and `timeline-markers.ndjson` (written by
`perfdash.timeline.recorder`), for the result view, `show`, compare, history and reports.

Fast enough for a 24-hour soak (86,400 rows): each block of rows is scanned as one JSON array by
the C scanner and split into columns by slicing, and a long file's parsed columns are kept in the
user's cache (`perfdash.artifacts.timeline_cache`) for the next look while the file stays as it
was. A half-written last line (the run was killed mid-write) is never read back as data: a line
counts only when it ends with a newline and has every column.
"""

from __future__ import annotations

import csv
import json
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from math import isnan
from pathlib import Path

from perfdash.artifacts import timeline_cache as cache
from perfdash.artifacts.errors import UnreadableArtifact
from perfdash.artifacts.files import read_regular_text
from perfdash.artifacts.paths import TIMELINE_CSV, RunPaths, run_paths

Series = list[float | None]


@dataclass(frozen=True)
class Marker:
    t_s: float
    kind: str  # perfdash.timeline.columns.MarkerKind
    text: str


@dataclass
class Timeline:
    """Seconds since the load started (`t`), one list per column in `series` (None: not measured
    in that second), and the markers in time order."""

    t: list[float]
    series: dict[str, Series]
    markers: list[Marker] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t)

    def window(self, t0: float, t1: float) -> Timeline:
        """The rows and markers with t0 <= t <= t1."""
        i, j = bisect_left(self.t, t0), bisect_right(self.t, t1)
        markers = [m for m in self.markers if t0 <= m.t_s <= t1]
        if i == 0 and j == len(self.t):  # the whole run: its columns, not a day's worth of copies
            return Timeline(self.t, dict(self.series), markers)
        return Timeline(self.t[i:j], {k: v[i:j] for k, v in self.series.items()}, markers)

    def downsample(self, max_points: int, *, envelope: bool = True) -> Timeline:
        """At most `max_points` rows. Rows are grouped into equal buckets; with `envelope` each bucket
        gives two rows, its minimum then its maximum per column (so a spike survives), at the
        bucket's first and last time; without, its last measured value per column. Markers are
        kept. A timeline that fits is returned as is."""
        n = len(self.t)
        if n <= max_points or max_points <= 0:
            return self
        per = max_points // 2 if envelope else max_points
        per = max(per, 1)
        bounds = [n * b // per for b in range(per + 1)]
        spans = [(lo, hi) for lo, hi in pairwise(bounds) if lo < hi]
        if envelope:
            t = [x for lo, hi in spans for x in (self.t[lo], self.t[hi - 1])]
        else:
            t = [self.t[hi - 1] for _, hi in spans]
        series = {k: _thin(values, spans, envelope=envelope) for k, values in self.series.items()}
        return Timeline(t, series, list(self.markers))


def _thin(values: Series, spans: list[tuple[int, int]], *, envelope: bool) -> Series:
    """One column of `Timeline.downsample`, by C loops (slices, min, max) wherever a bucket has no
    gap: min and max raise TypeError on a None (and give None for a bucket of one empty row), and
    only a bucket with a gap (Artillery's 10 s windows, a missed second) is filtered value by
    value."""
    if not envelope:
        out: Series = []
        for lo, hi in spans:
            last = values[hi - 1]
            if last is None:
                last = next((x for x in reversed(values[lo:hi - 1]) if x is not None), None)
            out.append(last)
        return out
    out = []
    for lo, hi in spans:
        chunk = values[lo:hi]
        try:
            out += (min(chunk), max(chunk))  # type: ignore[type-var]  # None raises: below
        except TypeError:
            measured = [x for x in chunk if x is not None]
            out += (min(measured), max(measured)) if measured else (None, None)
    return out


def _floats(cells: tuple[str, ...]) -> Series:
    """One column's cells as floats, None for empty cells (and for unreadable ones: the slow path,
    taken only by a column that holds one)."""
    try:
        return [float(c) if c else None for c in cells]
    except ValueError:
        out: Series = []
        for c in cells:
            try:
                out.append(float(c) if c else None)
            except ValueError:
                out.append(None)
        return out


# Rows converted at a time: the strings of a whole day at once cost 200 MB, and each block is one
# C call that holds the GIL, so a block of a few milliseconds lets the result view paint its first
# frame while its timeline is read behind it.
_CHUNK_ROWS = 512


def _read_fast(text: str) -> tuple[list[float], dict[str, Series]] | None:
    """The file as the recorder writes it (numbers and empty cells, no quoting), parsed by C loops:
    each block of rows through one `map(float)`, columns by slicing. None when the file is
    anything else (a quote, a short row, a cell that is not a number): the careful path reads it
    then."""
    head, _, body = text.partition("\n")
    header = head.split(",")
    if header[0] != "t_s" or '"' in text:
        return None
    width = len(header)
    if not body.count("\n"):
        return None
    t: list[float] = []
    columns: list[Series] = [[] for _ in range(width - 1)]
    start = 0
    while start < len(body):
        end = start
        for _ in range(_CHUNK_ROWS):
            end = body.find("\n", end) + 1
            if end == 0 or end >= len(body):
                end = len(body)
                break
        if not _convert(body[start:end], width, t, columns):
            return None
        start = end
        time.sleep(0)  # the GIL to a thread that waits for it (the screen), between blocks
    return t, dict(zip(header[1:], columns, strict=True))


# What a block of the recorder's rows holds: anything else (a letter, a space) is read cell by cell.
_NUMERIC = str.maketrans("", "", "0123456789.,-+eE\n")


def _convert(block: str, width: int, t: list[float], columns: list[Series]) -> bool:
    """Appends a block of whole rows to `t` and `columns`; False when a row is not all numbers."""
    rows = block.count("\n")
    if block.count(",") != rows * (width - 1):
        return False
    values = _numbers(block, rows * width)
    if values is None:
        return False
    t += values[0::width]
    for i, column in enumerate(columns, 1):
        numbers = values[i::width]
        empty = sum(map(isnan, numbers))  # counted in C: most columns are all numbers or all empty
        if not empty:
            column.extend(numbers)
        elif empty == len(numbers):
            column.extend([None] * len(numbers))
        else:
            column.extend([None if isnan(v) else v for v in numbers])
    return True


def _numbers(block: str, cells: int) -> list[float] | None:
    """The block's cells as floats, NaN for an empty one; None when one is not a number. A block of
    digits, signs and exponents only is one JSON array to the C scanner, twice as fast as a float()
    per cell, which reads anything else (and what JSON refuses: "1.", "+1", "01") as before."""
    # empty cells become NaN (twice: ",,," overlaps), then NaN becomes None in the columns
    if not block.translate(_NUMERIC):
        array = block.replace(",,", ",NaN,").replace(",,", ",NaN,").replace(",\n", ",NaN\n")
        try:
            scanned = json.loads("[" + array.replace("\n", ",")[:-1] + "]")
        except ValueError:
            scanned = None
        if isinstance(scanned, list) and len(scanned) == cells:
            return list(map(float, scanned))  # "12" scans as int 12
    block = block.replace(",,", ",nan,").replace(",,", ",nan,").replace(",\n", ",nan\n")
    split = block.replace("\n", ",").split(",")
    split.pop()  # after the last newline
    if len(split) != cells:
        return None
    try:
        return list(map(float, split))
    except ValueError:
        return None


def read_markers(path: Path) -> list[Marker]:
    markers: list[Marker] = []
    try:
        text = read_regular_text(path, errors="replace")  # never blocks on a FIFO
    except OSError:
        return markers
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # half-written
        try:
            obj = json.loads(line)
            markers.append(Marker(float(obj["t_s"]), str(obj["kind"]), str(obj["text"])))
        except (ValueError, KeyError, TypeError):
            continue
    markers.sort(key=lambda m: m.t_s)
    return markers


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def read_timeline(run_dir: Path) -> tuple[Timeline | None, str | None]:
    """(the run's timeline, None), or (None, why there is none).

    The analysis and the result view both read a finished run's timeline (86,400 rows for a day):
    it is read once while neither file changes, and callers only derive new timelines from it."""
    paths = RunPaths(run_dir)
    return _read_cached(run_dir, _stamp(paths.timeline_csv), _stamp(paths.timeline_markers))


@lru_cache(maxsize=2)
def _read_cached(run_dir: Path, _csv_stamp: tuple[int, int] | None,
                 _markers_stamp: tuple[int, int] | None) -> tuple[Timeline | None, str | None]:
    path = RunPaths(run_dir).timeline_csv
    markers = read_markers(RunPaths(run_dir).timeline_markers)
    ident = cache.identity(path)
    if ident is not None and ident[0] >= cache.MIN_BYTES:
        kept = cache.load(path, ident)
        if kept is not None:
            return Timeline(kept[0], kept[1], markers), None
    try:
        text = read_regular_text(path, errors="replace")  # never blocks on a FIFO
    except FileNotFoundError:
        return None, f"no {TIMELINE_CSV} in {run_dir} (a run from before the timeline, or no load)"
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror}"
    parsed = _parse(text)
    if parsed is None:
        return None, f"{path} has no header row"
    if ident is not None and ident[0] >= cache.MIN_BYTES and cache.identity(path) == ident:
        cache.store_later(path, ident, *parsed)  # not written to while it was read
    return Timeline(parsed[0], parsed[1], markers), None


def _parse(text: str) -> tuple[list[float], dict[str, Series]] | None:
    """(t, series) of the csv's text, None without a header row."""
    if not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]  # the last line was cut mid-write
    fast = _read_fast(text)
    if fast is not None:
        return fast
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if not header or header[0] != "t_s":
        return None
    width = len(header)
    body = [r for r in rows if len(r) == width]
    if not body:
        return [], {name: [] for name in header[1:]}
    columns = list(zip(*body, strict=True))
    t = [x if x is not None else float("nan") for x in _floats(columns[0])]
    return t, {name: _floats(columns[i]) for i, name in enumerate(header) if i}


class TimelineError(UnreadableArtifact):
    """timeline.csv is missing, unreadable or has no header row."""


def load_timeline(run: RunPaths | Path) -> Timeline:
    """`read_timeline` for callers that stop on a missing timeline: raises TimelineError."""
    paths = run_paths(run)
    timeline, problem = read_timeline(paths.root)
    if timeline is None:
        raise TimelineError(paths.timeline_csv, problem or f"{TIMELINE_CSV} cannot be read", "",
                            missing=not paths.timeline_csv.exists())
    return timeline
