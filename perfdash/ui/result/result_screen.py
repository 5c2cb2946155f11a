"""The result screen: the verdict of one run directory, for the end of a live run and for
`perfdash show`. The status banner stays on top; below it the checks with the full detail of the
highlighted one, the timeline charts of the whole run (zoomable), latency percentiles, problems,
findings and endpoints, the database findings and the baseline comparison.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from perfdash.ui.result.chart_data import shift, zoom
from perfdash.ui.result.check_detail import CheckDetail
from perfdash.ui.result.checks_table import ChecksTable
from perfdash.ui.result.comparison_panel import ComparisonPanel
from perfdash.ui.result.diagnosis_panel import DiagnosisPanel
from perfdash.ui.result.findings_panel import FindingsPanel
from perfdash.ui.result.latency_table import LatencyTable
from perfdash.ui.result.panel import ResultPanel
from perfdash.ui.result.problems_list import ProblemsList
from perfdash.ui.result.query_panel import QueryPanel
from perfdash.ui.result.run_data import RunData, load_run, run_timeline, timeline_is_large
from perfdash.ui.result.status_banner import StatusBanner
from perfdash.ui.result.timeline_charts import TimelineCharts

ZOOM = 2.0
PAN = 0.25  # of the window's width per ← or →


class ResultScreen(Screen[None]):
    # Textual declares this without ClassVar, so it is overridden the same way.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]  # noqa: RUF012
    # ← → move the charts' window wherever the focus is (the tables have no columns to scroll to).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom", key_display="+"),
        Binding("minus", "zoom(2)", "Out", key_display="-", show=False),
        Binding("left", f"pan(-{PAN})", "Earlier", priority=True, show=False),
        Binding("right", f"pan({PAN})", "Later", priority=True, show=False),
        Binding("0", "whole_run", "Whole run", show=False),
    ]

    class Reanalysed(Message):
        """The verdict computed again from the artifacts (`perfdash show`), or None with why not."""

        def __init__(self, summary: dict[str, Any] | None, problem: str | None) -> None:
            super().__init__()
            self.summary = summary
            self.problem = problem

    def __init__(self, run_dir: Path, comparison: dict[str, Any] | None = None, *,
                 reanalyse: bool = False) -> None:
        super().__init__()
        self.run_dir = run_dir
        self._reanalyse = reanalyse
        self._timeline_later = timeline_is_large(run_dir)
        self._child: subprocess.Popen[bytes] | None = None
        self.run = load_run(run_dir, comparison, timeline=not self._timeline_later)

    def compose(self) -> ComposeResult:
        yield StatusBanner(id="banner")
        with VerticalScroll(id="result-body"):
            with Vertical(id="result-main"):
                yield ChecksTable(id="checks")
                yield CheckDetail(id="check-detail")
                # the verdict first (what a reader checks on an 80x24 terminal), then why
                yield DiagnosisPanel(id="diagnosis")
                yield LatencyTable(id="latency")
                yield ProblemsList(id="problems")
                yield FindingsPanel(id="findings")
            with Vertical(id="result-side"):
                yield TimelineCharts(id="timeline")
                yield QueryPanel(id="queries")
                yield ComparisonPanel(id="comparison")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.run)
        self.query_one(ChecksTable).focus()
        if self._timeline_later or self._reanalyse:
            # A daemon thread, not a worker: quitting before it is done must not wait for it.
            self.call_after_refresh(threading.Thread(
                target=self._read_in_background, name="result-background", daemon=True).start)

    def _read_in_background(self) -> None:
        """After the first frame: a long run's timeline, then (for `show`) the verdict again from
        the artifacts, which is what `show --headless` prints. One thread, in that order, so
        neither competes with the other or with drawing the first frame."""
        app = self.app
        if self._timeline_later:
            timeline, problem = run_timeline(self.run_dir, self.run.summary)
            with contextlib.suppress(RuntimeError):  # the app closed meanwhile
                app.call_from_thread(self._timeline_read, timeline, problem)
        if self._reanalyse:
            fresh, problem = self._reanalyse_in_child()
            with contextlib.suppress(RuntimeError):
                app.call_from_thread(self._reanalysed, fresh, problem)

    def _reanalyse_in_child(self) -> tuple[dict[str, Any] | None, str | None]:
        """`perfdash show --json` in a child process: seconds of pure Python for a soak, which in
        this process would hold the GIL against the screen (scrolling, quitting) and here runs on
        the other core. The child is stopped when the screen goes."""
        self._child = subprocess.Popen(
            [sys.executable, "-m", "perfdash", "show", "--json", str(self.run_dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        out, err = self._child.communicate()
        try:
            fresh = json.loads(out)
        except ValueError:
            lines = err.decode(errors="replace").strip().splitlines() or ["it printed nothing"]
            return None, lines[-1].removeprefix("perfdash: error: ")
        return (fresh, None) if isinstance(fresh, dict) else (None, "it printed no summary")

    def on_unmount(self) -> None:
        child = self._child
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()

    def _timeline_read(self, timeline: Any, problem: str | None) -> None:
        self.show(dataclasses.replace(self.run, timeline=timeline, timeline_problem=problem))

    def _reanalysed(self, fresh: dict[str, Any] | None, problem: str | None) -> None:
        stored = self.run.summary
        self.post_message(self.Reanalysed(fresh if problem is None else None, problem))
        if fresh is None or problem is not None:
            self.notify(f"the verdict could not be computed again from the artifacts: {problem}; "
                        "showing it as stored", title="stored verdict", severity="warning",
                        timeout=15, markup=False)
            return
        if (fresh.get("status"), fresh.get("checks")) == (stored.get("status"), stored.get("checks")):
            return
        self.show(dataclasses.replace(self.run, summary=fresh))
        self.notify(f"computed again from the artifacts: {fresh.get('status')} (stored: "
                    f"{stored.get('status')})", title="verdict updated", timeout=15, markup=False)

    def show(self, run: RunData) -> None:
        self.run = run
        self.query_one(StatusBanner).data = run
        self.query_one(ChecksTable).data = run
        self.query_one(TimelineCharts).data = run
        for panel in self.query(ResultPanel):  # whichever panels compose() placed
            panel.data = run
        table = self.query_one(ChecksTable)
        self.query_one(CheckDetail).check = table.check_at(0)

    @on(DataTable.RowHighlighted, "#checks")
    def _check_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(CheckDetail).check = self.query_one(ChecksTable).check_at(event.cursor_row)

    # ------------------------------------------------------------------ the charts' window
    def _window(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        charts = self.query_one(TimelineCharts)
        whole = charts.whole
        if whole is None or whole[1] <= whole[0]:
            return None
        return charts.window or whole, whole

    def action_zoom(self, factor: float) -> None:
        now = self._window()
        if now is not None:
            window = zoom(now[0], now[1], factor)
            self.query_one(TimelineCharts).window = None if window == now[1] else window

    def action_pan(self, fraction: float) -> None:
        now = self._window()
        if now is not None and now[0] != now[1]:
            self.query_one(TimelineCharts).window = shift(now[0], now[1], fraction)

    def action_whole_run(self) -> None:
        self.query_one(TimelineCharts).window = None
