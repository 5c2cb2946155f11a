"""server-latency.csv: the backend's own request time per second per endpoint group, beside
timeline.csv, so "p95 went up at 1:37" can be followed to the endpoint that went up.

timeline.csv has one column per series and a header fixed when the run starts, while the groups are
known only as requests arrive; so this is a long file, one row per (second, group): `t_s` (the same
second as timeline.csv's row), `group` (a normalised route such as `/api/accounts/{}`, or
`(other routes)`), `n` (requests with a time), `p50_ms`, `p95_ms`, `p99_ms` (4% bucket edges, as
srv_p95_ms). The TimelineRecorder owns the clock and closes each second here too. Only seconds with
request times get rows, and the file exists only when some log gave request times.

Several logs (two access logs, an app log with request lines) each name their own busiest groups;
this caps again at TOP_GROUPS over everything read so far, so a second has at most TOP_GROUPS + 1
rows whatever the number of logs.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from perfdash.artifacts import SERVER_LATENCY_CSV, RunPaths
from perfdash.artifacts.server_latency import HEADER
from perfdash.collect.endpoint_groups import OTHER, TOP_GROUPS, top_groups
from perfdash.collect.latency_buckets import percentile

Row = tuple[float, str, int, float | None, float | None, float | None]


class GroupLatencies:
    """Folds the per-group histograms of one second; `close_second` writes the second's rows."""

    def __init__(self, run_dir: Path, top: int = TOP_GROUPS) -> None:
        self._path = RunPaths(run_dir).server_latency
        self._top = top
        self._second: dict[str, Counter[int]] = {}
        self._requests: Counter[str] = Counter()  # per group, the whole run so far
        self._file: TextIO | None = None
        self.error: str | None = None

    def add(self, groups: Iterable[tuple[str, Iterable[tuple[int, int]]]]) -> None:
        for name, buckets in groups:
            counts = self._second.setdefault(name, Counter())
            counts.update(dict(buckets))

    def close_second(self, t_s: float) -> list[Row]:
        """The second's rows, busiest group first and OTHER last, written to the file."""
        second, self._second = self._second, {}
        if not second:
            return []
        for name, counts in second.items():
            self._requests[name] += sum(counts.values())
        kept = top_groups(self._requests, self._top)
        merged: dict[str, Counter[int]] = {}
        for name, counts in second.items():
            merged.setdefault(name if name in kept else OTHER, Counter()).update(counts)
        order = sorted(merged, key=lambda g: (g == OTHER, -self._requests[g], g))
        rows = [(t_s, g, sum(merged[g].values()), percentile(merged[g], 50), percentile(merged[g], 95),
                 percentile(merged[g], 99)) for g in order]
        self._write(rows)
        return rows

    def _write(self, rows: list[Row]) -> None:
        if self.error:
            return
        try:
            if self._file is None:
                self._file = self._path.open("a", newline="", encoding="utf-8")
                if self._file.tell() == 0:
                    csv.writer(self._file, lineterminator="\n").writerow(HEADER)
            writer = csv.writer(self._file, lineterminator="\n")
            writer.writerows((_number(t), g, n, _number(p50), _number(p95), _number(p99))
                             for t, g, n, p50, p95, p99 in rows)
            self._file.flush()
        except OSError as exc:
            self.error = (f"server latency per endpoint group stopped: cannot write {SERVER_LATENCY_CSV}: "
                          f"{exc.strerror}")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _number(value: float | None) -> str:
    """As timeline.csv writes a second (`12`), and a percentile to the 0.001 ms it was rounded to."""
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() else str(value)
