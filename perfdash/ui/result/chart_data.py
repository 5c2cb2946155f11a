"""What the result view's timeline charts draw, as plain data: for a window of the run, each chart's
lines (downsampled for drawing, full resolution once zoomed in far enough), its legend, round y
ticks, the shared time ticks and the markers. No Textual and no plotext here, so tests assert what
is drawn without a terminal and the charts widget only hands this to plotext.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perfdash.artifacts.timeline import Marker, Timeline
from perfdash.check import stored_limit
from perfdash.timeline.columns import host_column
from perfdash.tools import tool_charts
from perfdash.tools.live import ChartLine, spec_of

# (column, legend label, colour, scale): the scale turns a ratio into percent. Colours are RGB hex,
# drawn alike by plotext and in the legends: named ANSI colours follow the terminal's palette.
Line = tuple[str, str, str, float]
GREEN, BLUE, CYAN, YELLOW = "#4ebf71", "#4c8eda", "#3fc1c9", "#e5c07b"
RED, MAGENTA, WHITE = "#e06c75", "#c678dd", "#d8d8d8"


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str  # with the unit, where one unit holds for every line (else each label says it)
    lines: tuple[Line, ...]
    y_max: float | None = None  # a fixed top (percentages), else the data's
    source: str = ""  # where the numbers come from, said in the legend
    short_source: str = ""  # the same in a few words, for a narrow terminal


# The charts of every run, before the load tools add their lines (`_with_tools`).
_BASE: tuple[ChartSpec, ...] = (
    ChartSpec("rps", "requests/s", ()),
    ChartSpec("latency", "latency ms", (("srv_p95_ms", "server p95", BLUE, 1.0),)),
    ChartSpec("errors", "errors", ()),
    ChartSpec("vus", "virtual users", ()),
    ChartSpec("host", "host %", (("cpu_pct", "CPU %", RED, 1.0),
                                 ("mem_pct", "memory %", CYAN, 1.0)), y_max=100.0,
              source="this machine, psutil", short_source="psutil"),
    ChartSpec("load", "host load", (("load1", "load 1 min", YELLOW, 1.0),),
              source="this machine, psutil", short_source="psutil"),
    ChartSpec("db", "DB connections", (("db_active", "active", GREEN, 1.0),
                                       ("db_idle", "idle", BLUE, 1.0),
                                       ("db_idle_in_tx", "idle in tx", YELLOW, 1.0),
                                       ("db_total", "total", WHITE, 1.0),
                                       ("db_lock_waits", "lock waiters", RED, 1.0)),
              source="pg_stat_activity, pg_locks", short_source="PostgreSQL"),
    ChartSpec("log", "app log", (("log_errors", "ERROR lines/s", RED, 1.0),),
              source="lines at ERROR level", short_source="ERROR level"),
)
_P95_STATS = ("p(95)", "p95")
PALETTE = {"green": GREEN, "blue": BLUE, "cyan": CYAN, "yellow": YELLOW, "red": RED,
           "magenta": MAGENTA, "white": WHITE}
# Tool lines go before the base lines of the same chart (the server's p95 after the tools').
_Contribution = tuple[str, tuple[ChartLine, ...], dict[str, str]]


def _colour(line: ChartLine, taken: list[str]) -> str:
    """The line's own colour, else the first one no other line of the chart has."""
    if line.colour in PALETTE:
        return PALETTE[line.colour]
    return next((c for c in PALETTE.values() if c not in taken), WHITE)


def _with_tools(base: ChartSpec, tools: Sequence[_Contribution],
                present: frozenset[str] | None) -> ChartSpec:
    """`base` with every tool's lines for its chart, and a source naming those tools. Given the
    columns a run recorded (`present`), only the lines it has, less those whose `unless` column
    it has too."""
    lines: list[Line] = []
    sources: list[tuple[str, str]] = []
    for label, tool_lines, tool_sources in tools:
        mine = [t for t in tool_lines if t.chart == base.key and (present is None or (
            t.column in present and not (t.unless and t.unless in present)))]
        if not mine:
            continue
        sources.append((tool_sources.get(base.key, label), label))
        for t in mine:
            lines.append((t.column, t.label, _colour(t, [c for _, _, c, _ in [*lines, *base.lines]]),
                          t.scale))
    if not sources and not base.source:
        sources = [(tool_sources.get(base.key, label), label) for label, tool_lines, tool_sources
                   in tools if any(t.chart == base.key for t in tool_lines)]
    source = ", ".join([*(s for s, _ in sources), *([base.source] if base.source else [])])
    short = ", ".join([*(name for _, name in sources),
                       *([base.short_source] if base.short_source else [])])
    return dataclasses.replace(base, lines=(*lines, *base.lines), source=source, short_source=short)


def tool_contributions() -> list[_Contribution]:
    return [(tool.label, lines, {str(k): v for k, v in spec_of(tool).sources.items()})
            for tool, lines in tool_charts()]


def charts_for(present: frozenset[str] | None = None) -> tuple[ChartSpec, ...]:
    """Every chart with the registered load tools' lines: all of them (`present` None), or those
    of the tools the run recorded."""
    tools = tool_contributions()
    return tuple(_with_tools(c, tools, present) for c in _BASE)


CHARTS: tuple[ChartSpec, ...] = charts_for()
# One CPU line per backend host when the run measured hosts through node_exporter: cycled, memory
# (CYAN) kept apart.
HOST_COLORS = (RED, YELLOW, MAGENTA, GREEN, BLUE, WHITE)


def host_chart(hosts: Sequence[tuple[str, str]], present: frozenset[str]) -> ChartSpec | None:
    """The host chart of a run with hosts: one CPU line per backend host, each named in the legend,
    and the first backend host's memory; None when the timeline has no per-host columns for a
    backend host (a single-machine run, or one from before them), which keeps `CHARTS`' chart."""
    backend = [name for name, role in hosts
               if role == "backend" and host_column(name, "cpu_pct") in present]
    if not backend:
        return None
    lines: list[Line] = [(host_column(name, "cpu_pct"), f"{name} CPU %",
                          HOST_COLORS[i % len(HOST_COLORS)], 1.0) for i, name in enumerate(backend)]
    memory = host_column(backend[0], "mem_pct")
    if memory in present:
        lines.append((memory, f"{backend[0]} memory %", CYAN, 1.0))
    return ChartSpec("host", "host %", tuple(lines), y_max=100.0,
                     source="backend hosts, node_exporter", short_source="node_exporter")


def chart_specs(hosts: Sequence[tuple[str, str]], present: frozenset[str]
                ) -> tuple[ChartSpec, ...]:
    """`CHARTS`, with the host chart per backend host when the run has per-host columns. With a
    backend host measured through node_exporter, the plain host columns are the first backend
    host's too, and the host and load charts say so. The latency chart names the access log
    when the run has the server's own per-second times. The load tools' lines and sources are
    those of the tools the run recorded (a tool's `unless` columns decide between two forms)."""
    charts = tuple(dataclasses.replace(c, source=c.source + ", access log",
                                       short_source=c.short_source + ", log")
                   if c.key == "latency" and "srv_p95_ms" in present else c
                   for c in charts_for(present))
    if not any(role == "backend" for _, role in hosts):
        return charts
    per_host = host_chart(hosts, present)
    return tuple(per_host if c.key == "host" and per_host is not None
                 else dataclasses.replace(c, source="first backend host, node_exporter",
                                          short_source="node_exporter")
                 if c.key in ("host", "load") else c
                 for c in charts)


MARKER_STYLE = {"phase": (WHITE, "│"), "breach": (RED, "▲"), "problem": (YELLOW, "!"),
                "tool_exit": (MAGENTA, "■")}
MIN_SPAN_S = 10.0
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
               86400)
# A p95 limit more than this many times the data's top is named off the scale, not drawn: as the
# axis top it would press a 39 ms line flat on the floor of a 600 ms axis (the live chart does the
# same).
OFF_SCALE = 1.5
Y_LABEL_WIDTH = 6  # every chart's y labels padded alike, so the plot areas line up


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    xs: list[float]
    ys: list[float]


@dataclass(frozen=True)
class Chart:
    spec: ChartSpec
    series: list[Series]
    y_ticks: list[float]
    y_labels: list[str]
    hline: float | None = None  # the p95 threshold on the latency chart, when it is on the scale
    limit: float | None = None  # the p95 threshold, drawn or not

    @property
    def y_top(self) -> float:
        return self.y_ticks[-1] if self.y_ticks else 1.0

    @property
    def limit_off_scale(self) -> bool:
        """The threshold is above the axis: the legend names it with an arrow instead."""
        return self.limit is not None and self.hline is None


@dataclass(frozen=True)
class ChartsView:
    t0: float
    t1: float
    whole: tuple[float, float]
    points: int  # rows of the window that were read, before downsampling
    x_ticks: list[float]
    x_labels: list[str]
    charts: list[Chart]
    markers: list[Marker]

    @property
    def zoomed(self) -> bool:
        return (self.t0, self.t1) != self.whole


def clock(seconds: float) -> str:
    """m:ss under an hour, h:mm:ss from there: the time since the load started."""
    s = round(seconds)
    sign = "-" if s < 0 else ""
    h, rest = divmod(abs(s), 3600)
    m, sec = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{sec:02d}" if h else f"{sign}{m}:{sec:02d}"


def time_ticks(t0: float, t1: float, count: int) -> tuple[list[float], list[str]]:
    """Round time ticks (1 s … 1 day apart) for [t0, t1], at most about `count` of them."""
    span = max(t1 - t0, 1e-9)
    step = next((s for s in _TIME_STEPS if span / s <= max(count, 1)), _TIME_STEPS[-1])
    first = math.ceil(t0 / step) * step
    ticks = [float(first + i * step) for i in range(int((t1 - first) // step) + 1)]
    return ticks, [clock(t) for t in ticks]


def _nice_step(raw: float) -> float:
    exp = math.floor(math.log10(raw))
    base = raw / 10 ** exp
    nice = 1 if base <= 1 else 2 if base <= 2 else 2.5 if base <= 2.5 else 5 if base <= 5 else 10
    return float(nice * 10 ** exp)


def value_ticks(top: float, count: int = 3) -> list[float]:
    """Round ticks from 0 to a round top at or above `top`."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    step = _nice_step(top / max(count, 1))
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def tick_label(value: float) -> str:
    """At most `Y_LABEL_WIDTH` characters, so a sub-millisecond axis does not shift its plot area
    out of line with the charts above and below it."""
    if value >= 1e6:
        text = f"{value / 1e6:g}M"
    elif value >= 1e4:
        text = f"{value / 1e3:g}k"
    else:
        text = f"{value:g}"
    if len(text) > Y_LABEL_WIDTH:  # round ticks have two significant digits: 2.5e-4
        mantissa, exponent = f"{value:.1e}".split("e")
        text = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return text


def p95_threshold(summary: dict[str, Any]) -> float | None:
    """The p95 latency limit in ms from the verdict's checks: the first load tool's (registry
    order) check on a figure its latency chart draws, whose limit is an upper bound on p95."""
    checks = {c.get("id"): c for c in summary.get("checks") or [] if isinstance(c, dict)}
    for tool, lines in tool_charts():
        drawn = {line.column for line in lines if line.chart == "latency"}
        for figure in tool.figure_specs:
            check = checks.get(figure.same_as_check or figure.key)
            if figure.timeline not in drawn or check is None:
                continue
            limit = stored_limit(check)
            p95 = limit is not None and (limit.stat in _P95_STATS or (
                not limit.stat and figure.key.endswith(_P95_STATS)))
            if limit is not None and p95 and limit.op in ("<", "<="):
                return limit.value
    return None


def present_columns(timeline: Timeline) -> frozenset[str]:
    """Columns with at least one measured value: an absent tool draws no empty line."""
    return frozenset(k for k, v in timeline.series.items() if _measured(v))


def _measured(values: list[float | None]) -> bool:
    """Whether a column has a value: its first rows answer for most, a C count for the rest."""
    return any(x is not None for x in values[:64]) or values.count(None) < len(values)


def run_span(timeline: Timeline) -> tuple[float, float]:
    """The whole run: its rows, and the markers after the last row (the analysis, the cleanup)."""
    if not timeline.t:
        return (0.0, 0.0)
    end = max([timeline.t[-1], *(m.t_s for m in timeline.markers[-1:])])
    return (timeline.t[0], float(end))


def charts_view(timeline: Timeline, window: tuple[float, float] | None, max_points: int,
                *, x_tick_count: int = 8, threshold: float | None = None,
                present: frozenset[str] | None = None,
                hosts: Sequence[tuple[str, str]] = ()) -> ChartsView:
    """The charts for `window` (None: the whole run), each line at most about `max_points`
    points: min/max per bucket, so a one-second spike in a day still shows. `hosts`: (name, role)
    from hosts.json, for one CPU line per backend host."""
    whole = run_span(timeline)
    t0, t1 = window or whole
    present = present_columns(timeline) if present is None else present
    specs = chart_specs(hosts, present)
    wanted = {line[0] for spec in specs for line in spec.lines if line[0] in present}
    part = Timeline(timeline.t, {k: v for k, v in timeline.series.items() if k in wanted},
                    timeline.markers).window(t0, t1)
    points = len(part.t)
    drawn = part.downsample(max_points)
    charts: list[Chart] = []
    for spec in specs:
        series: list[Series] = []
        top = 0.0
        for column, label, color, scale in spec.lines:
            if column not in drawn.series:
                continue
            xs: list[float] = []
            ys: list[float] = []
            for x, y in zip(drawn.t, drawn.series[column], strict=True):
                if y is not None:
                    xs.append(x)
                    ys.append(y * scale)
            series.append(Series(label, color, xs, ys))
            top = max(top, *ys) if ys else top
        limit = threshold if spec.key == "latency" and series else None
        hline = limit if limit is not None and top > 0 and limit <= top * OFF_SCALE else None
        if hline is not None:
            top = max(top, hline)
        ticks = value_ticks(spec.y_max if spec.y_max is not None else top * 1.05)
        charts.append(Chart(spec, series, ticks, [tick_label(t) for t in ticks], hline, limit))
    x_ticks, x_labels = time_ticks(t0, t1, x_tick_count)
    return ChartsView(t0, t1, whole, points, x_ticks, x_labels, charts, part.markers)


def zoom(window: tuple[float, float], whole: tuple[float, float], factor: float
         ) -> tuple[float, float]:
    """The window `factor` times as wide around its middle, kept inside the run."""
    span = min(max((window[1] - window[0]) * factor, MIN_SPAN_S), whole[1] - whole[0])
    middle = (window[0] + window[1]) / 2
    return shift((middle - span / 2, middle + span / 2), whole, 0.0)


def shift(window: tuple[float, float], whole: tuple[float, float], fraction: float
          ) -> tuple[float, float]:
    """The window moved by `fraction` of its width, stopping at the ends of the run."""
    span = window[1] - window[0]
    t0 = min(max(window[0] + span * fraction, whole[0]), whole[1] - span)
    return (t0, t0 + span)


def rgb(color: str) -> tuple[int, int, int]:
    """A hex colour as plotext takes it."""
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))
