"""The one reader of metrics.csv, the once-a-second host (and backend process) samples, parsed
once per version of the file into a column of numbers per header.

The host checks, the per-host groups, compare, the diagnosis and the result screen's host chart
each used to parse the csv themselves; they now interpret the same columns. A cell that is empty
or not a number is NaN (not measured that second); a row cut short by a kill is left out.
"""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfdash.artifacts.cache import PerVersion
from perfdash.artifacts.errors import UnreadableArtifact
from perfdash.artifacts.files import open_regular
from perfdash.artifacts.paths import RunPaths, run_paths


class MetricsError(UnreadableArtifact):
    """metrics.csv is missing, unreadable or not csv text."""


@dataclass(frozen=True)
class MetricsTable:
    """metrics.csv by column: `columns[name][i]` is the value in row i, NaN when not a number.
    Shared between callers: read it, never change it."""

    path: Path
    header: tuple[str, ...]
    columns: dict[str, array[float]]
    rows: int

    def column(self, name: str) -> Sequence[float] | None:
        return self.columns.get(name)

    def complete(self, *names: str) -> Iterator[tuple[float, ...]]:
        """The rows in which every named column holds a finite number, those columns only."""
        cols = [self.columns.get(n) for n in names]
        if any(c is None for c in cols):
            return
        for values in zip(*cols, strict=True):
            if all(math.isfinite(v) for v in values):
                yield tuple(values)


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return math.nan


def _parse(path: Path) -> MetricsTable:
    try:
        with open_regular(path, newline="") as f:
            reader = csv.reader(f)
            header = tuple(next(reader, []))
            cols = [array("d") for _ in header]
            rows = 0
            for row in reader:
                if len(row) != len(header):
                    continue  # a row cut short by a kill
                for col, cell in zip(cols, row, strict=True):
                    col.append(_number(cell))
                rows += 1
    except FileNotFoundError:
        raise MetricsError(path, f"{path.name} is missing", "", missing=True) from None
    except OSError as exc:
        raise MetricsError(path, f"{path.name} cannot be read: {exc.strerror}", "") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MetricsError(path, f"{path.name} is damaged ({exc})") from None
    return MetricsTable(path, header, dict(zip(header, cols, strict=True)), rows)


_tables = PerVersion(_parse, keep=4, shared=True)


def load_metrics(run: RunPaths | Path, path: Path | None = None) -> MetricsTable:
    """The run's metrics.csv (or the one at `path`, where its summary says it is); raises
    MetricsError with one sentence when it is missing or cannot be read as csv."""
    return _tables(path or run_paths(run).metrics_csv)
