"""The live screen's charts on one time axis: load (k6 and Artillery req/s), latency (k6 p50/p95/p99,
or k6's interval mean without its web dashboard output, against the profile's p95 threshold),
error rate (k6's, and Artillery's per 10 s report) and VUs, then host CPU/memory, database
connections and app-log errors per second, with a marker row and an m:ss axis under all of them.

One widget draws every track on the same columns, so a latency spike, the CPU it cost and the error
it caused line up. It rebuilds its strips only when a `TimelineTicked` arrived (the data's version
moved) or the size changed; tracks are dropped by priority when the terminal is short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from perfdash.timeline.columns import HOST_PREFIX
from perfdash.timeline.columns import NAMES as COMMON_COLUMNS
from perfdash.ui.live.chart_draw import Row, area, axis_row, lines, marker_row, scale_top
from perfdash.ui.live.timeline_data import Columns, TimelineData


@dataclass(frozen=True)
class Track:
    key: str
    title: str
    series: tuple[tuple[str, str, str], ...]  # (column, label, style); the main series last
    unit: str
    min_rows: int
    max_rows: int
    floor: float = 1.0  # the smallest scale top, so noise near zero stays flat
    top: float | None = None  # a fixed scale (percentages)
    system: bool = False


TRACKS = (
    Track("rps", "req/s", (("art_rps", "art", "cyan"), ("k6_rps", "k6", "magenta")), "/s", 2, 8),
    Track("latency", "ms", (("k6_p50_ms", "p50", "green"), ("k6_p99_ms", "p99", "red"),
                                 ("k6_p95_ms", "p95", "bold yellow")), "ms", 2, 10),
    Track("errors", "errors", (("k6_error_rate", "k6", "red"),), "ratio", 1, 4, floor=0.01),
    Track("vus", "VUs", (("k6_vus", "k6", "blue"),), "", 1, 4),
    Track("host", "host", (("mem_pct", "mem", "cyan"), ("cpu_pct", "CPU", "green")), "%", 2, 6,
          top=100.0, system=True),
    Track("db", "db conn", (("db_active", "active", "yellow"), ("db_total", "total", "blue")),
          "", 2, 4, floor=4, system=True),
    Track("log", "log err", (("log_errors", "errors", "red"),), "", 1, 3, system=True),
)
# Without k6's web dashboard output there are no per-second percentiles: the latency track draws
# the interval mean from k6's REST API instead (one value every 3 s or more, held in between).
MEAN_SERIES = ("k6_avg_ms", "mean", "bold yellow")
# Beside k6's, when measured: the backend's own p95 each second (its access log), and Artillery's
# p95 per 10 s report (a step every 10 s, labelled `art·10s`).
OTHER_LATENCY = (("art_p95_ms", "art·10s", "magenta"), ("srv_p95_ms", "srv p95", "cyan"))
# Beside k6's error rate, when measured: Artillery's errors per request of each 10 s report (a
# step every 10 s, labelled like its p95).
OTHER_ERRORS = (("art_error_rate", "art·10s", "magenta"),)
PRIORITY = ("latency", "rps", "errors", "host", "vus", "db", "log")
GROW = ("latency", "rps", "host", "errors", "vus", "db", "log")
NAMES = (*tuple(dict.fromkeys(c for t in TRACKS for c, _, _ in t.series)), MEAN_SERIES[0],
         *(c for c, _, _ in (*OTHER_LATENCY, *OTHER_ERRORS)), "db_max")
EMPTY = "timeline: the first second of load appears here"
# A tool whose columns are its own (`LoadTool.timeline_columns`, `<tool>_<field>`) joins the load
# tracks by the fields every tool's progress may carry, labelled with the tool's name.
TOOL_FIELDS = (("_rps", "rps"), ("_p95_ms", "latency"), ("_fail_ratio", "errors"), ("_users", "vus"))
TOOL_STYLES = ("bold green", "bold cyan", "bold magenta")


def tool_series(names: Sequence[str]) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """Per track, the series of tools outside the common columns, from the columns seen so far;
    each tool keeps one colour across the tracks."""
    found: list[tuple[str, str, str]] = []  # (track, column, tool)
    for name in names:
        if name in COMMON_COLUMNS or name.startswith(HOST_PREFIX):
            continue
        for suffix, key in TOOL_FIELDS:
            tool = name.removesuffix(suffix)
            if tool and tool != name:
                found.append((key, name, tool))
                break
    tools = sorted({tool for _, _, tool in found})
    out: dict[str, tuple[tuple[str, str, str], ...]] = {}
    for key, name, tool in found:
        style = TOOL_STYLES[tools.index(tool) % len(TOOL_STYLES)]
        out[key] = (*out.get(key, ()), (name, tool, style))
    return out


def with_tool_series(track: Track, extra: tuple[tuple[str, str, str], ...], cols: Columns) -> Track:
    """The track with the tools' series; the common one stays the headline (last) while it has
    data, else the tools' take its place (a run without k6 shows no empty k6 line)."""
    if not extra:
        return track
    own_measured = any(_measured(cols, c) for c, _, _ in track.series)
    series = (*extra, *track.series) if own_measured else extra
    return Track(track.key, track.title, series, track.unit, track.min_rows, track.max_rows,
                 track.floor, track.top, track.system)


def allocate(height: int) -> dict[str, int]:
    """Rows per track for a chart `height` lines tall (marker and axis rows included)."""
    avail = height - 2
    if height >= 16:
        avail -= 1  # the rule between the load and the system tracks
    by_key = {t.key: t for t in TRACKS}
    rows: dict[str, int] = {}
    for key in PRIORITY:
        if by_key[key].min_rows <= avail:
            rows[key] = by_key[key].min_rows
            avail -= rows[key]
    grew = True
    while avail > 0 and grew:
        grew = False
        for key in GROW:
            if avail > 0 and key in rows and rows[key] < by_key[key].max_rows:
                rows[key] += 1
                avail -= 1
                grew = True
    return rows


def number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "ms":
        return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    return f"{value:,.0f}" if value >= 10 or unit == "" else f"{value:.1f}"


def _last(values: Sequence[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def _pad(row: Row, width: int) -> Row:
    used = sum(len(text) for text, _ in row)
    if used > width:
        out: Row = []
        for text, style in row:
            room = width - sum(len(t) for t, _ in out)
            if room <= 0:
                break
            out.append((text[:room], style))
        return out
    return [*row, (" " * (width - used), "")] if used < width else row


def _measured(cols: Columns, column: str) -> bool:
    return any(v is not None for v in cols.series.get(column, ()))


def _latency_track(track: Track, cols: Columns,
                   tools: tuple[tuple[str, str, str], ...] = ()) -> Track:
    """k6's percentiles (or its interval mean without them), with the server's, Artillery's and
    any other tool's p95 beside them when measured; k6's main series stays last (the gutter's
    headline) unless k6 measured nothing, as in an Artillery-only run or a watched access log."""
    k6 = track.series if _measured(cols, "k6_p95_ms") else (MEAN_SERIES,)
    others = tuple(o for o in (*OTHER_LATENCY, *tools) if _measured(cols, o[0]))
    if others and not any(_measured(cols, c) for c, _, _ in k6):
        k6 = ()
    series = (*others, *k6)
    return Track(track.key, track.title, series or (MEAN_SERIES,), track.unit, track.min_rows,
                 track.max_rows)


def _errors_track(track: Track, cols: Columns,
                  tools: tuple[tuple[str, str, str], ...] = ()) -> Track:
    """k6's error rate with Artillery's per report beside it when measured, k6's staying the
    headline unless it measured nothing (an Artillery-only run)."""
    others = tuple(o for o in OTHER_ERRORS if _measured(cols, o[0]))
    if not others:
        return with_tool_series(track, tools, cols)
    own = track.series if any(_measured(cols, c) for c, _, _ in track.series) else ()
    return with_tool_series(Track(track.key, track.title, (*others, *own), track.unit,
                                  track.min_rows, track.max_rows, track.floor), tools, cols)


def track_rows(track: Track, cols: Columns, rows: int, gutter: int,
               limit: float | None, tools: tuple[tuple[str, str, str], ...] = ()) -> list[Row]:
    """One track: its gutter (title, scale, current values) beside its graph; `tools`: the series
    of tools outside the common columns that belong to it."""
    if track.key == "latency":
        track = _latency_track(track, cols, tools)
    elif track.key == "errors":
        track = _errors_track(track, cols, tools)
    else:
        track = with_tool_series(track, tools, cols)
    values = [cols.series[c] for c, _, _ in track.series]
    if track.key == "db":
        db_max = _last(cols.series["db_max"])
        top = scale_top([v for vs in values for v in vs], track.floor)
        if db_max and top * 2 >= db_max:
            top = db_max
        limit = db_max
    else:
        top = track.top or scale_top([v for vs in values for v in vs], track.floor)
    named = limit
    if limit is not None and track.key == "latency":
        if limit <= top * 1.5:
            top = max(top, scale_top([limit], track.floor))
        else:
            limit = None  # far above the data: named in the gutter, not drawn (it would flatten them)
    if len(track.series) == 1 and track.key != "latency":
        graph = area(values[0], rows, top, track.series[0][2])
    else:
        graph = lines([(v, s) for v, (_, _, s) in zip(values, track.series, strict=True)], rows,
                      top, limit, "red")
    main_col, _main_label, main_style = track.series[-1]
    gutters: list[Row] = []
    if rows == 1:
        gutters.append([(f"{track.title} ", "bold"),
                        (number(_last(cols.series[main_col]), track.unit), main_style)])
    else:
        gutters.append([(f"{track.title} ", "bold"), (f"≤{number(top, track.unit)}", "dim")])
        for col, label, style in reversed(track.series):
            gutters.append([(f"{label} ", "dim"), (number(_last(cols.series[col]), track.unit),
                                                    style)])
        if track.key == "latency" and named is not None:
            gutters.insert(2, [("limit ", "dim"),
                            (number(named, "ms") + ("" if limit is not None else "↑"), "red")])
        elif track.key == "db" and limit:
            gutters.append([("max ", "dim"), (number(limit, ""), "red")])
    out = []
    for i, row in enumerate(graph):
        side = gutters[i] if i < len(gutters) else []
        out.append([*_pad(side, gutter - 1), (" ", ""), *row])
    return out


def chart_rows(data: TimelineData, width: int, height: int) -> list[Row]:
    """The whole chart area as rows of (text, style) runs, `width` cells wide."""
    gutter = 16 if width >= 120 else 12
    plot = width - gutter
    if not data.points or plot < 8 or height < 3:
        return [[(EMPTY, "dim italic")]]
    rows = allocate(height)
    names = [c for t in TRACKS if t.key in rows for c, _, _ in t.series]
    tools = tool_series(list(data.series))
    cols = data.columns(plot, [*names, MEAN_SERIES[0],
                               *(c for c, _, _ in (*OTHER_LATENCY, *OTHER_ERRORS)), "db_max",
                               *(c for key, ss in tools.items() if key in rows for c, _, _ in ss)],
                        data.horizon_s)
    out: list[Row] = []
    ruled = False
    for track in TRACKS:
        if track.key not in rows:
            continue
        if track.system and not ruled and height >= 16:
            ruled = True
            out.append([("host · database · log ", "dim"), ("─" * max(0, width - 23), "dim")])
        limit = data.p95_limit_ms if track.key == "latency" else None
        out.extend(track_rows(track, cols, rows[track.key], gutter, limit, tools.get(track.key, ())))
    breaches = sum(1 for ms in cols.markers for k, _ in ms if k == "breach")
    problems = sum(1 for ms in cols.markers for k, _ in ms if k == "problem")
    side: Row = [("marks", "dim")]
    if breaches or problems:
        side = [(f"◆{breaches} ", "bold red" if breaches else "dim"),
                (f"▲{problems}", "bold yellow" if problems else "dim")]
    out.append([*_pad(side, gutter - 1), (" ", ""), *marker_row(cols.markers)])
    scale = (f"{cols.seconds_per_column} s/col" if cols.cells_per_column == 1
             else f"{cols.cells_per_column} col/s")
    axis = axis_row(cols.count, cols.seconds_per_column, plot, cols.cells_per_column)
    out.append([*_pad([(scale, "dim")], gutter - 1), (" ", ""), *axis])
    return out


@lru_cache(maxsize=64)
def _style(name: str) -> Style:
    return Style.parse(name) if name else Style()


class TimelineChart(Widget):
    """Draws `chart_rows` line by line; strips are built once per tick and size."""

    DEFAULT_CSS = """
    TimelineChart {
        height: 8;
        padding: 0 1;
    }
    """

    version: reactive[int] = reactive(-1)

    def __init__(self, data: TimelineData, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = data
        self._strips: list[Strip] = []
        self._key: tuple[int, int, int] = (-1, 0, 0)

    def rows(self) -> list[Row]:
        return chart_rows(self.data, self.size.width, self.size.height)

    @property
    def plain(self) -> str:
        return "\n".join("".join(t for t, _ in row).rstrip() for row in self.rows())

    def columns(self) -> Columns:
        """The columns the chart shows at its current width (for tests)."""
        gutter = 16 if self.size.width >= 120 else 12
        return self.data.columns(self.size.width - gutter, NAMES, self.data.horizon_s)

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        key = (self.data.version, width, height)
        if key != self._key:
            self._key = key
            base = self.rich_style
            self._strips = [
                Strip([Segment(text, base + _style(style)) for text, style in row if text]
                      ).crop_extend(0, width, base)
                for row in self.rows()[:height]]
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)
