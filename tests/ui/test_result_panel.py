"""The frame the result panels share (perfdash.ui.result.panel): every panel of the result screen
gets its title, border and padding from ResultPanel, a panel's own DEFAULT_CSS still wins over the
base's, and a panel is blank until the screen hands it a run, then shows its body of that run."""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual.app import App, ComposeResult

from perfdash.ui.app import make_app
from perfdash.ui.result.comparison_panel import ABSENT, ComparisonPanel
from perfdash.ui.result.diagnosis_panel import DiagnosisPanel
from perfdash.ui.result.findings_panel import FindingsPanel
from perfdash.ui.result.latency_table import LatencyTable
from perfdash.ui.result.panel import ResultPanel
from perfdash.ui.result.problems_list import ProblemsList
from perfdash.ui.result.query_panel import QueryPanel
from perfdash.ui.result.result_screen import ResultScreen
from perfdash.ui.result.run_data import RunData, load_run
from tests.ui.conftest import FAIL_RUN, PASS_RUN

PANELS = (ComparisonPanel, DiagnosisPanel, FindingsPanel, LatencyTable, ProblemsList, QueryPanel)


class RunIdPanel(ResultPanel):
    """A panel as a new one would be written: a title and a body, nothing else."""

    BORDER_TITLE = "run id"

    def body(self, run: RunData) -> Text:
        return Text(f"run {run.run_id}")


class PanelApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunIdPanel(id="probe")


async def test_a_new_panel_gets_the_frame_and_shows_its_body_once_it_has_a_run() -> None:
    app = PanelApp()
    async with app.run_test(size=(60, 10)) as pilot:
        panel = app.query_one(RunIdPanel)
        assert panel.border_title == "run id"
        assert panel.render().plain == ""  # no run yet: blank, never a stale or made-up line
        assert panel.styles.border_top[0] == "round"
        assert (panel.styles.padding.left, panel.styles.padding.right) == (1, 1)
        blank_height = panel.outer_size.height
        run = load_run(PASS_RUN)
        panel.data = run
        await pilot.pause()
        assert panel.render().plain == f"run {run.run_id}"
        assert panel.outer_size.height == blank_height  # height auto: one line inside the border
        panel.data = dataclasses.replace(run, summary={**run.summary, "run_id": "20990101T000000Z"})
        await pilot.pause()
        assert panel.render().plain == "run 20990101T000000Z"  # a new run repaints the panel


async def test_every_result_panel_is_framed_by_the_base_with_its_own_title() -> None:
    app = make_app(summary_dir=FAIL_RUN)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        titles = set()
        for cls in PANELS:
            panel = screen.query_one(cls)
            assert isinstance(panel, ResultPanel)
            assert panel.data is screen.run  # show() hands each panel the run
            assert panel.border_title == cls.BORDER_TITLE != ""
            titles.add(cls.BORDER_TITLE)
        assert len(titles) == len(PANELS)
        # the subclass's DEFAULT_CSS overrides the base's: the diagnosis keeps its accent border
        diagnosis, problems = screen.query_one(DiagnosisPanel), screen.query_one(ProblemsList)
        assert diagnosis.styles.border_top[1] != problems.styles.border_top[1]
        assert problems.styles.border_top[0] == diagnosis.styles.border_top[0] == "round"


async def test_the_comparison_panel_reads_the_comparison_from_the_run() -> None:
    app = make_app(summary_dir=PASS_RUN)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        panel = screen.query_one(ComparisonPanel)
        assert ABSENT[:40] in panel.render().plain
        comparison = {"base_run": "20990101T000000Z", "regressions": 1, "improvements": 0,
                      "deltas": [{"verdict": "regressed", "label": "k6 p95", "unit": "ms",
                                  "base": 10.0, "new": 20.0, "pct": 100.0}]}
        screen.show(dataclasses.replace(screen.run, comparison=comparison))
        await pilot.pause()
        shown = panel.render().plain
        assert "against 20990101T000000Z: 1 regressed" in shown
        assert "k6 p95" in shown
