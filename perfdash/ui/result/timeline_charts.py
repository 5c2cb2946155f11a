"""The run on one time axis, on the result screen: load, latency against the p95 threshold, errors
and VUs, then host, database connections and app-log errors under them, every chart with the same
time window and ticks, and the run's markers (phases, breaches, problems, tool exits) drawn across
all of them and listed below.

`window` is the part of the run shown (None: all of it); the screen's zoom keys set it. Lines are
downsampled to about two points per column, so a 24-hour soak draws as fast as a smoke run
and a zoomed-in window shows every second.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot

from perfdash.analyze.host_groups import read_host_roles
from perfdash.ui.result.chart_data import (
    CHARTS,
    MARKER_STYLE,
    RED,
    WHITE,
    Y_LABEL_WIDTH,
    Chart,
    ChartsView,
    charts_view,
    clock,
    p95_threshold,
    present_columns,
    rgb,
    run_span,
)
from perfdash.ui.result.run_data import RunData

MARKERS_SHOWN = 6
KEYS_HINT = "+ − zoom · ← → move · 0 whole run"


def legend(chart: Chart, width: int = 0) -> str:
    """The chart's title and unit, its source, a coloured swatch per line and the p95 limit
    (Textual markup, for a border title), in at most `width` cells when it can be: the short
    source, narrower gaps and swatches, then "Art" for Artillery, so the limit and every line's
    name stay readable at 80 columns (0: no limit)."""
    spec = chart.spec
    long_limit = short_limit = ""
    if chart.hline is not None:
        long_limit = short_limit = f"[{WHITE}]╌╌[/] p95 limit {chart.hline:g}"
    elif chart.limit is not None:  # off the scale: named, with an arrow, instead of drawn
        long_limit = f"[{RED}]↑[/] p95 limit {chart.limit:g} [dim](off scale)[/]"
        short_limit = f"[{RED}]↑[/]limit {chart.limit:g}"
    text = ""
    for source, swatch, gap, limit, art in (
            (spec.source, "━━ ", "  ", long_limit, "Artillery"),
            (spec.short_source, "━━ ", "  ", long_limit, "Artillery"),
            (spec.short_source, "━━ ", " ", short_limit, "Artillery"),
            (spec.short_source, "━ ", " ", short_limit, "Artillery"),
            (spec.short_source, "━", " ", short_limit, "Artillery"),
            (spec.short_source, "━", " ", short_limit, "Art")):
        parts = [f"[b]{spec.title}[/b]" + (f" [dim]· {source}[/]" if source else "")]
        parts += [f"[{s.color}]{swatch}[/]{s.label.replace('Artillery', art)}"
                  for s in chart.series]
        text = gap.join(parts + ([limit] if limit else []))
        if not width or Text.from_markup(text).cell_len <= width:
            break
    return text


def header_text(view: ChartsView | None) -> str:
    """The window shown, for the panel's border title (Textual markup)."""
    if view is None:
        return "timeline"
    span = view.t1 - view.t0
    text = f"timeline {clock(view.t0)}–{clock(view.t1)}"
    if view.zoomed:
        text += f" [cyan](zoomed ×{(view.whole[1] - view.whole[0]) / max(span, 1e-9):.3g})[/]"
    return text + f" [dim]· {view.points:,} s since the load started[/]"


def markers_text(view: ChartsView | None) -> Text:
    if view is None or not view.markers:
        return Text("no markers in this window", style="dim italic")
    text = Text()
    for i, m in enumerate(view.markers[:MARKERS_SHOWN]):
        color, glyph = MARKER_STYLE.get(m.kind, (WHITE, "·"))
        if i:
            text.append("   ")
        text.append(f"{glyph} {clock(m.t_s)} ", style=f"bold {color}")
        text.append(m.text)
    if len(view.markers) > MARKERS_SHOWN:
        text.append(f"   … {len(view.markers) - MARKERS_SHOWN} more", style="dim")
    return text


class TimelineCharts(Vertical):
    DEFAULT_CSS = """
    TimelineCharts {
        height: auto;
        border: round $primary 40%;
        border-title-color: $text-primary;
    }
    TimelineCharts > PlotextPlot {
        height: 5;
        border-top: hkey $primary 20%;
        border-title-align: left;
        border-title-color: $text;
    }
    TimelineCharts > PlotextPlot.-bottom {
        height: 7;
    }
    TimelineCharts > #timeline-missing, TimelineCharts > #timeline-markers {
        height: auto;
        padding: 0 1;
    }
    """

    data: reactive[RunData | None] = reactive(None)
    window: reactive[tuple[float, float] | None] = reactive(None)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: ChartsView | None = None
        self._present: frozenset[str] = frozenset()
        self._hosts: list[tuple[str, str]] = []  # (name, role) from hosts.json
        self._drawn_width = 0
        self._drawn: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-missing")
        for spec in CHARTS:
            yield PlotextPlot(id=f"chart-{spec.key}")
        yield Static(id="timeline-markers")

    def on_mount(self) -> None:
        self.border_title = "timeline"
        self.border_subtitle = KEYS_HINT

    @property
    def whole(self) -> tuple[float, float] | None:
        timeline = self.data.timeline if self.data else None
        return run_span(timeline) if timeline and timeline.t else None

    @property
    def max_points(self) -> int:
        """Two points per column of the plot area (half blocks): more would not show."""
        return max(2 * (self.size.width - Y_LABEL_WIDTH - 4), 40)

    def watch_data(self, old: RunData | None, run: RunData | None) -> None:
        timeline = run.timeline if run else None
        if old is not None and old.timeline is timeline and self._drawn is not None:
            self._drawn = None  # the same timeline (a verdict computed again): keep the zoom
            self.redraw()
            return
        self._present = present_columns(timeline) if timeline else frozenset()
        self._hosts = read_host_roles(run.root) if run is not None and timeline else []
        self.window = None
        self.redraw()

    def watch_window(self) -> None:
        self.redraw()

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._drawn_width:
            self.redraw()

    def redraw(self) -> None:
        # Not laid out yet, or the same window at the same width: a day's worth of rows is only
        # thinned again when what is shown changes.
        key = (id(self.data), self.window, self.size.width)
        if not self.is_mounted or self.size.width == 0 or key == self._drawn:
            return
        self._drawn = key
        run = self.data
        timeline = run.timeline if run else None
        self._drawn_width = self.size.width
        self.view = None
        if run is not None and timeline is not None and timeline.t:
            self.view = charts_view(timeline, self.window, self.max_points,
                                    x_tick_count=max(2, self.size.width // 14),
                                    threshold=p95_threshold(run.summary), present=self._present,
                                    hosts=self._hosts)
        self.border_title = header_text(self.view)
        missing = self.query_one("#timeline-missing", Static)
        missing.display = self.view is None
        why = (run.timeline_problem if run else None) or "nothing recorded"
        missing.update(Text(f"no timeline: {why}", style="dim italic"))
        self.query_one("#timeline-markers", Static).update(markers_text(self.view))
        shown = [c for c in self.view.charts if c.series] if self.view else []
        keys = {c.spec.key for c in shown}
        plots = list(self.query(PlotextPlot))
        for plot in plots:
            plot.display = plot.id is not None and plot.id.removeprefix("chart-") in keys
        for i, chart in enumerate(shown):
            assert self.view is not None
            self._draw(self.query_one(f"#chart-{chart.spec.key}", PlotextPlot), chart, self.view,
                       bottom=i == len(shown) - 1)

    def _draw(self, plot: PlotextPlot, chart: Chart, view: ChartsView, *, bottom: bool) -> None:
        plot.set_class(bottom, "-bottom")
        # the border's corners and a cell of room either side of the title
        plot.border_title = legend(chart, max(plot.size.width, self.size.width - 2) - 4)
        plt = plot.plt
        plt.clear_figure()
        for series in chart.series:
            if series.xs:
                plt.plot(series.xs, series.ys, color=rgb(series.color), marker="hd")
        if chart.hline is not None:
            plt.hline(chart.hline, rgb(WHITE))
        for marker in view.markers:
            plt.vline(marker.t_s, rgb(MARKER_STYLE.get(marker.kind, (WHITE, ""))[0]))
        plt.xlim(view.t0, view.t1)
        plt.ylim(0, chart.y_top)
        plt.yticks(chart.y_ticks, [label.rjust(Y_LABEL_WIDTH) for label in chart.y_labels])
        # Only the bottom chart carries the time axis: the others give its rows to their lines.
        plt.xaxes(bottom, False)
        plt.yaxes(True, False)
        if bottom:
            plt.xticks(view.x_ticks, view.x_labels)
        else:
            plt.xticks([], [])
        plot.refresh()
