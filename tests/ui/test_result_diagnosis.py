"""The diagnosis heads the result view: each finding with why, fix and evidence; an older run's
summary without a diagnosis keeps the panel out of the way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from perfdash.diagnose import run_rules
from perfdash.ui.app import make_app
from perfdash.ui.result.checks_table import ChecksTable
from perfdash.ui.result.diagnosis_panel import DiagnosisPanel
from perfdash.ui.result.latency_table import LatencyTable
from perfdash.ui.result.result_screen import ResultScreen
from tests.test_diagnose_rules import sick_facts
from tests.ui.conftest import PASS_RUN


def _copy_with_diagnosis(tmp_path: Path) -> Path:
    run = tmp_path / PASS_RUN.name
    shutil.copytree(PASS_RUN, run)
    summary = json.loads((run / "summary.json").read_text())
    summary["diagnosis"] = run_rules(sick_facts())
    (run / "summary.json").write_text(json.dumps(summary))
    return run


async def test_the_diagnosis_is_the_first_thing_shown(tmp_path: Path) -> None:
    app = make_app(summary_dir=_copy_with_diagnosis(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        panel = screen.query_one(DiagnosisPanel)
        assert panel.display
        text = panel.render().plain
        assert text.startswith("1. Lock contention on accounts")
        assert "fix: commit before the slow work" in text
        assert "N+1 in /api/orders/{}" in text
        assert "not looked at (database-counters): needs pg_stat_database" in text
        checks = screen.query_one(ChecksTable)
        assert checks.region.y < panel.region.y < screen.query_one(LatencyTable).region.y
        assert panel.region.y < 48  # on the first screen, right under the verdict's checks


async def test_an_older_run_without_a_diagnosis_hides_the_panel() -> None:
    app = make_app(summary_dir=PASS_RUN)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert not app.screen.query_one(DiagnosisPanel).display
