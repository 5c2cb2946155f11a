"""How a load tool's live progress is shown and recorded, declared by the tool as data: the lines of
its pane (read by the live screen and the headless console), which of its `ToolProgressed` fields
fill which timeline.csv columns, and how a recording made before every tool spoke through
`ToolProgressed` reads today. No screen code here, so every consumer stays generic: a new tool
declares a `LiveSpec` (or takes `DEFAULT_SPEC`) and shows up everywhere without UI code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from perfdash.events import ERROR_RATE, FAIL_RATIO, FAILURES, P95_MS, RPS, USERS, FormerRecord

Format = Literal["int", "ms", "pct", "pct2"]


@dataclass(frozen=True)
class Figure:
    """One figure of a pane line, shown `label value unit`. `of`: a second field after a slash
    (VUs 3/5). The value (with its unit) is bold red past `alarm_above` or below `alarm_below`,
    else `calm`. `flag`: the field is a yes/no, said with these words (and no value). `counts`:
    the event's counts by kind listed instead of a field (Artillery's errors by type)."""

    field: str = ""
    label: str = ""
    fmt: Format = "int"
    unit: str = ""
    of: str = ""
    alarm_above: float | None = None
    alarm_below: float | None = None
    calm: str = ""
    flag: tuple[str, str] | None = None
    counts: bool = False


@dataclass(frozen=True)
class Line:
    figures: tuple[Figure, ...]
    sep: str = "  "


ChartKey = Literal["rps", "latency", "errors", "vus"]


@dataclass(frozen=True)
class ChartLine:
    """One line a tool adds to a result-view chart: the timeline column it draws, its legend label
    and `scale` (100 turns a ratio into percent). `colour`: a palette name (green, blue, cyan,
    yellow, red, magenta, white), else the chart picks one its other lines do not use. `unless`:
    left out when the run recorded that column (a newer, better figure of the same thing)."""

    chart: ChartKey
    column: str
    label: str
    colour: str = ""
    scale: float = 1.0
    unless: str = ""


@dataclass(frozen=True)
class LiveLimit:
    """Where the live latency chart's p95 limit line comes from: `file`, a file of the run directory
    the tool writes before its load starts (an attacher fetches it as the load starts), and
    `p95_ms`, the tightest p95 limit read from the run directory once that file exists (None: the
    run has no such limit)."""

    file: str
    p95_ms: Callable[[Path], float | None]


@dataclass(frozen=True)
class LiveSpec:
    """A tool's live face. `lines` follow the pane's progress bar, most important first.
    `columns` maps a ToolProgressed field to the timeline.csv column it fills (a field without one
    fills `<tool>_<field>` when the run declares that column). `report_every_s`: the tool reports
    in windows this long (Artillery 10 s), so its pane counts down to the next one and its bar
    runs on the tool's phase clock; `sample_clock`: the samples carry the tool's own elapsed time,
    which the bar follows instead. `standing`: its pane stays on the live screen whatever the run
    (saying when the tool is not part of it). `legacy`: the event name this tool published before
    ToolProgressed and how its record reads now (`perfdash.events.current_record`). `limit`: where
    the live latency chart's p95 limit line comes from."""

    lines: tuple[Line, ...]
    columns: Mapping[str, str] = field(default_factory=dict)
    waiting: str = ""  # what the first sample brings, shown until it does
    idle: str = ""  # the pane before the load
    report_every_s: int = 0
    sample_clock: bool = False
    standing: bool = False
    legacy: tuple[str, FormerRecord] | None = None
    # The result view's charts: the tool's lines and, per chart, where its numbers come from
    # ("k6 http_req_duration"). None: derived from the common fields (`chart_lines`).
    charts: tuple[ChartLine, ...] | None = None
    sources: Mapping[ChartKey, str] = field(default_factory=dict)
    # The live latency chart's limit line, when the tool knows one before its load starts.
    limit: LiveLimit | None = None


# Any tool that declares nothing: the figures every tool's progress may carry.
DEFAULT_SPEC = LiveSpec(lines=(
    Line((Figure(USERS, "users"), Figure(RPS, "req/s"), Figure(P95_MS, "p95", "ms"))),
    Line((Figure(FAIL_RATIO, "failing", "pct2", alarm_above=0.0),
          Figure(FAILURES, "failures", alarm_above=0.0))),
))


def spec_of(tool: object) -> LiveSpec:
    """A registered tool's LiveSpec, or the default for one that declares none."""
    spec = getattr(tool, "live", None)
    return spec if isinstance(spec, LiveSpec) else DEFAULT_SPEC


def field_columns(name: str, spec: LiveSpec,
                  declared: tuple[tuple[str, str, str], ...]) -> dict[str, str]:
    """field -> timeline column for one tool: its spec's mapping, and `<name>_<field>` for every
    column it declares beyond the common ones (`LoadTool.timeline_columns`)."""
    prefix = f"{name}_"
    found = {c.removeprefix(prefix): c for c, _, _ in declared if c.startswith(prefix)}
    return {**found, **spec.columns}


# The common fields a tool without declared chart lines is drawn by: chart, field, label after the
# tool's name, scale. ERROR_RATE (per interval) is preferred to FAIL_RATIO (its running share).
_COMMON_LINES: tuple[tuple[ChartKey, str, str, float], ...] = (
    ("rps", RPS, "", 1.0), ("latency", P95_MS, " p95", 1.0),
    ("errors", ERROR_RATE, " failed %", 100.0), ("errors", FAIL_RATIO, " failed %", 100.0),
    ("vus", USERS, " users", 1.0),
)


def chart_lines(name: str, label: str, spec: LiveSpec,
                declared: tuple[tuple[str, str, str], ...]) -> tuple[ChartLine, ...]:
    """The lines a tool adds to the result charts: those its spec declares, else one per common
    field it fills a timeline column with (req/s, p95, failed %, users), named after the tool."""
    if spec.charts is not None:
        return spec.charts
    columns = field_columns(name, spec, declared)
    out: list[ChartLine] = []
    for chart, fld, suffix, scale in _COMMON_LINES:
        column = columns.get(fld)
        if column is not None and not any(line.chart == chart for line in out):
            out.append(ChartLine(chart, column, label + suffix, scale=scale))
    return tuple(out)
