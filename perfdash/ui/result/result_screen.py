"""The result screen: the verdict of one run directory, for the end of a live run and for
`perfdash show`. The status banner stays on top; checks come first below it, then the full detail
of the highlighted check, latency percentiles, problems, host plots and the database findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from perfdash.ui.result.check_detail import CheckDetail
from perfdash.ui.result.checks_table import ChecksTable
from perfdash.ui.result.comparison_panel import ComparisonPanel
from perfdash.ui.result.host_plots import HostPlots
from perfdash.ui.result.latency_table import LatencyTable
from perfdash.ui.result.problems_list import ProblemsList
from perfdash.ui.result.query_panel import QueryPanel
from perfdash.ui.result.run_data import RunData, load_run
from perfdash.ui.result.status_banner import StatusBanner


class ResultScreen(Screen[None]):
    # Textual declares this without ClassVar, so it is overridden the same way.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]  # noqa: RUF012

    def __init__(self, run_dir: Path, comparison: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.run = load_run(run_dir, comparison)

    def compose(self) -> ComposeResult:
        yield StatusBanner(id="banner")
        with VerticalScroll(id="result-body"):
            with Vertical(id="result-main"):
                yield ChecksTable(id="checks")
                yield CheckDetail(id="check-detail")
                yield LatencyTable(id="latency")
                yield ProblemsList(id="problems")
            with Vertical(id="result-side"):
                yield HostPlots(id="host-plots")
                yield QueryPanel(id="queries")
                yield ComparisonPanel(id="comparison")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.run)
        self.query_one(ChecksTable).focus()

    def show(self, run: RunData) -> None:
        self.run = run
        for widget in (self.query_one(StatusBanner), self.query_one(ChecksTable),
                       self.query_one(LatencyTable), self.query_one(ProblemsList),
                       self.query_one(HostPlots), self.query_one(QueryPanel)):
            widget.data = run
        self.query_one(ComparisonPanel).comparison = run.comparison
        table = self.query_one(ChecksTable)
        self.query_one(CheckDetail).check = table.check_at(0)

    @on(DataTable.RowHighlighted, "#checks")
    def _check_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(CheckDetail).check = self.query_one(ChecksTable).check_at(event.cursor_row)
