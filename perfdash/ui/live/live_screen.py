"""The live screen: header, the timeline chart, host, load tool and database panes, and the app
log. The tools whose LiveSpec is `standing` (k6, Artillery) have a pane from the start, saying when
they are not part of the run; any other tool gets one when the run declares it or it reports.

The app's drain timer folds events into a `LiveState` and calls `show`; each pane gets its view
through a reactive and repaints only when that view changed. Breakpoints stack the panes two by two
on narrow terminals, put them in one row on wide ones, and drop the less urgent ones when the
terminal is very short. The chart takes a height by terminal height (`chart_height`); `+` and `-`
give rows to the log or take them back.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Footer

from perfdash.tools import TOOL_NAMES, live_spec
from perfdash.ui.live.database_pane import DatabasePane
from perfdash.ui.live.host_pane import HostPane
from perfdash.ui.live.log_pane import LogPane
from perfdash.ui.live.run_header import RunHeader
from perfdash.ui.live.state import LiveState
from perfdash.ui.live.timeline_chart import TimelineChart
from perfdash.ui.live.tool_pane import ToolPane

LOG_STEP = 4  # rows the log gains or loses per `+` / `-`
LOG_STEPS = 5


def chart_height(screen_height: int, log_steps: int) -> int:
    """The chart's rows: the essentials (latency, req/s, errors, VUs) under 40 rows, every track
    from 40, taller tracks from 60; each log step gives LOG_STEP of them to the log."""
    base = 8 if screen_height < 40 else 22 if screen_height < 60 else 32
    # The header, the panes, the footer and three log lines always keep their rows.
    most = max(4, screen_height - (2 + 8 + 1 + 5))
    return max(4, min(most, base - log_steps * LOG_STEP))


def tool_pane(name: str, later: bool) -> ToolPane:
    """A tool's pane; `later`: not the first tool's, hidden on a very short terminal."""
    return ToolPane(name, id=f"tool-{name}", classes="later-tool" if later else None)


class LiveScreen(Screen[None]):
    # Textual declares these without ClassVar, so they are overridden the same way.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (20, "-short"), (40, "-tall"), (60, "-huge")]  # noqa: RUF012

    # Nothing takes focus by itself: the only focusable widget is the hidden log filter, and a
    # focused input would swallow every key meant for the app.
    AUTO_FOCUS = ""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter_log", "Filter"),
        Binding("f", "follow_log", "Follow"),
        Binding("plus,equals_sign", "grow_log", "Log +"),
        Binding("minus", "shrink_log", "Log -"),
    ]

    def __init__(self, state: LiveState) -> None:
        super().__init__()
        self.state = state
        self._ready = False
        self.log_steps = 0

    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        yield TimelineChart(self.state.timeline, id="chart")
        with Grid(id="panes"):
            yield HostPane(id="host")
            for i, name in enumerate(t for t in TOOL_NAMES if live_spec(t).standing):
                yield tool_pane(name, later=i > 0)
            yield DatabasePane(id="database")
        yield LogPane(self.state.log, id="log")
        yield Footer()

    def on_mount(self) -> None:
        # Looked up once: the drain calls `show` four times a second.
        self._header = self.query_one(RunHeader)
        self._host = self.query_one(HostPane)
        self._database = self.query_one(DatabasePane)
        self._tool_panes = {p.tool_name: p for p in self.query(ToolPane)}  # more as tools appear
        self._log = self.query_one(LogPane)
        self._chart = self.query_one(TimelineChart)
        self._ready = True
        self._size_chart()
        self.show()

    def on_resize(self) -> None:
        self._size_chart()

    def _size_chart(self) -> None:
        if self._ready:
            self._chart.styles.height = chart_height(self.size.height, self.log_steps)

    def show(self) -> None:
        """Hand every pane its current view; unchanged views cost nothing."""
        if not self._ready:
            return
        s = self.state
        self._header.view = s.header
        self._host.view = s.host
        for name in (*self._tool_panes, *s.reported_tools()):
            pane = self._tool_panes.get(name)
            if pane is None:
                pane = self._tool_panes[name] = tool_pane(name, later=bool(self._tool_panes))
                self.query_one("#panes").mount(pane, before=self._database)
            pane.view = s.tools.get(name)
            pane.phase = s.tool_phase(name)
        self._chart.version = s.timeline.version
        self._database.view = s.database
        self._log.update_from(s.log_absent())

    def action_filter_log(self) -> None:
        self._log.open_filter()

    def action_follow_log(self) -> None:
        self._log.toggle_follow()

    def action_grow_log(self) -> None:
        self.log_steps = min(LOG_STEPS, self.log_steps + 1)
        self._size_chart()

    def action_shrink_log(self) -> None:
        self.log_steps = max(-LOG_STEPS, self.log_steps - 1)
        self._size_chart()
