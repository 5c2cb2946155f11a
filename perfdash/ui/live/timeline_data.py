"""The run's timeline as the live screen keeps it: one point per second from `TimelineTicked`,
bucketed into as many columns as the chart has, and the k6 p95 threshold drawn over the latencies.

No Textual here: `LiveState` folds ticks into a `TimelineData`, and the chart widget asks it for
columns. The whole run stays on screen: one column per second while the run fits the width, then
several seconds per column (the run compressed, never scrolled away). Past `MAX_POINTS` stored
points, neighbours are merged so a soak run costs the same to draw as a ten-minute one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perfdash.tools.live import LiveLimit

MAX_POINTS = 2048
# Rates are averaged when seconds share a column; everything else keeps its peak, so a one-second
# latency spike or error burst stays visible in a compressed run.
MEAN_COLUMNS = frozenset({"k6_rps", "art_rps", "k6_vus", "log_lines"})
# Artillery reports a 10-second window on one row, k6's REST API an interval mean every 3 s or
# more: a value holds until the next one.
CARRIED_COLUMNS = frozenset({"art_rps", "art_p50_ms", "art_p95_ms", "art_p99_ms", "art_errors",
                             "art_error_rate",
                             "sio_p95_ms", "k6_avg_ms"})
CARRY_S = 12
# Anything else sampled less often than every second (the database every 2 s) holds this long.
HOLD_S = 3
# Which marker wins a column when several fall in it (the most urgent).
MARKER_RANK = {"breach": 4, "problem": 3, "tool_exit": 2, "phase": 1}

Point = Mapping[str, float | None]  # one tick's values by column
Markers = tuple[tuple[str, str], ...]


def _merge(a: float | None, b: float | None, mean: bool) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return (a + b) / 2 if mean else max(a, b)


def _bucket(values: Sequence[float | None], mean: bool) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return sum(present) / len(present) if mean else max(present)


@dataclass(frozen=True)
class Columns:
    """The timeline cut into chart columns: `series[name][i]` is column i's value (None: nothing
    measured), `markers[i]` what happened in it."""

    seconds_per_column: int
    series: dict[str, list[float | None]]
    markers: list[Markers]
    cells_per_column: int = 1  # > 1: a short run stretched over the width

    @property
    def count(self) -> int:
        """Columns of data (before stretching)."""
        return len(self.markers) // self.cells_per_column


@dataclass
class TimelineData:
    step: int = 1  # seconds per stored point (doubles each time the history is merged)
    # Stored by column, one entry per point: the chart reads whole columns once a second.
    series: dict[str, list[float | None]] = field(default_factory=dict)
    markers: list[Markers] = field(default_factory=list)
    p95_limit_ms: float | None = None
    version: int = 0
    last_t_s: float = 0.0
    horizon_s: float = 0.0  # the run's planned seconds, so a short run spreads over the width
    _limit_read: bool = False

    def add(self, t_s: float, values: Point, markers: Markers) -> None:
        index = max(0, int(t_s)) // self.step
        grow = index + 1 - len(self.markers)
        if grow > 0:
            self.markers.extend([()] * grow)
            for known in self.series.values():
                known.extend([None] * grow)
        for name, value in values.items():
            if name not in self.series:
                self.series[name] = [None] * len(self.markers)
            column = self.series[name]
            column[index] = value if self.step == 1 else _merge(column[index], value,
                                                                name in MEAN_COLUMNS)
        if markers:
            self.markers[index] = self.markers[index] + tuple(markers)
        self.last_t_s = max(self.last_t_s, t_s)
        self.version += 1
        if len(self.markers) > MAX_POINTS:
            self._halve()

    def _halve(self) -> None:
        n = len(self.markers)
        for name, column in self.series.items():
            mean = name in MEAN_COLUMNS
            self.series[name] = [_bucket(column[i:i + 2], mean) for i in range(0, n, 2)]
        self.markers = [self.markers[i] + (self.markers[i + 1] if i + 1 < n else ())
                        for i in range(0, n, 2)]
        self.step *= 2

    @property
    def points(self) -> int:
        return len(self.markers)

    @property
    def seconds(self) -> int:
        return len(self.markers) * self.step

    def columns(self, width: int, names: Sequence[str], horizon_s: float = 0.0) -> Columns:
        """The run in at most `width` columns, oldest at the left; a run shorter than `width`
        and its `horizon_s` (the planned seconds) is stretched over several cells per second."""
        n = len(self.markers)
        per = max(1, math.ceil(n / max(1, width)))
        cells = 1
        if per == 1 and self.step == 1:
            cells = max(1, width // max(1, n, math.ceil(horizon_s)))
        series: dict[str, list[float | None]] = {}
        empty: list[float | None] = [None] * n
        for name in names:
            raw = self.series.get(name, empty)
            mean = name in MEAN_COLUMNS
            out = list(raw) if per == 1 else [_bucket(raw[i:i + per], mean)
                                              for i in range(0, n, per)]
            hold = CARRY_S if name in CARRIED_COLUMNS else HOLD_S
            out = _carried(out, hold // (per * self.step))
            series[name] = out if cells == 1 else [v for v in out for _ in range(cells)]
        marks = self.markers if per == 1 else [
            tuple(m for ms in self.markers[i:i + per] for m in ms) for i in range(0, n, per)]
        if cells > 1:
            marks = [m for ms in marks for m in (ms, *[()] * (cells - 1))]
        return Columns(per * self.step, series, list(marks), cells)

    def read_limit(self, run_dir: Path | None, limits: Sequence[LiveLimit]) -> None:
        """Take the tightest p95 limit the run's tools declare (k6: the thresholds it runs with,
        the script's own plus the profile's, in k6-config.json) once their files exist."""
        if self._limit_read or run_dir is None or not limits:
            return
        if not all((run_dir / limit.file).exists() for limit in limits):
            return  # not written yet: asked again with the next tick
        self._limit_read = True
        found = [v for v in (limit.p95_ms(run_dir) for limit in limits) if v is not None]
        self.p95_limit_ms = min(found) if found else None
        self.version += 1


def _carried(values: list[float | None], span: int) -> list[float | None]:
    out: list[float | None] = []
    last: float | None = None
    age = 0
    for v in values:
        if v is not None:
            last, age = v, 0
        else:
            age += 1
            if age > span:
                last = None
        out.append(v if v is not None else last)
    return out
