"""The checks table on a user project with tagged thresholds: status, value and threshold stay on
screen at 160 and 80 columns, the long names are elided in the middle, and the detail under the
table gives the highlighted check's full name."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfdash.ui.app import make_app
from perfdash.ui.result.check_detail import CheckDetail
from perfdash.ui.result.checks_table import ChecksTable, column_widths, elide_middle
from perfdash.ui.screenshot import screen_lines
from tests.ui.conftest import PASS_RUN

STATEMENT = "k6 http_req_duration{endpoint:statement} p(95)"
EXPORT = "k6 http_req_duration{endpoint:customer_statement_export,method:GET} p(99)"
FAILED = "k6 http_req_failed{endpoint:customer_statement_export} rate"
TAGGED: list[dict[str, Any]] = [
    {"id": "k6.statement.p95", "name": STATEMENT, "status": "pass", "value": 312.25,
     "threshold": "p(95)<400", "source": "profiles.toml [profiles.load.thresholds.k6]",
     "detail": "k6: ok", "unit": "ms"},
    {"id": "k6.export.p99", "name": EXPORT, "status": "pass", "value": 1780.0,
     "threshold": "p(99)<2500", "source": "the script's options.thresholds",
     "detail": "k6: ok", "unit": "ms"},
    {"id": "k6.export.failed", "name": FAILED, "status": "pass", "value": 0.0021,
     "threshold": "rate<0.01", "source": "the script's options.thresholds",
     "detail": "k6: ok", "unit": "ratio"},
]
Compare = Callable[..., bool]


def tagged_run(root: Path) -> Path:
    """The passing recorded run with a user project's tagged k6 thresholds first."""
    run = root / PASS_RUN.name
    if not run.exists():
        shutil.copytree(PASS_RUN, run)
        summary = json.loads((run / "summary.json").read_text())
        summary["checks"] = TAGGED + summary["checks"]
        (run / "summary.json").write_text(json.dumps(summary, indent=2))
    return run


def screen_text(app: Any) -> list[str]:
    return ["".join(s.text for s in line) for line in screen_lines(app)]


def test_elide_middle_keeps_the_tool_and_the_statistic() -> None:
    assert elide_middle(STATEMENT, 30) == "k6 http_req_dur…atement} p(95)"
    assert elide_middle("k6 checks", 30) == "k6 checks"


def test_widths_keep_value_and_threshold_whole() -> None:
    from rich.text import Text

    rows = [(Text("FAIL"), EXPORT, Text("1,780 ms"), "p(99)<2500")]
    status, name, value, threshold = column_widths(rows, 76)
    assert (status, value, threshold) == (6, 8, 10)
    assert status + name + value + threshold + 8 == 76  # the name takes what is left


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_tagged_names_leave_value_and_threshold_on_screen(tmp_path: Path,
                                                                size: tuple[int, int]) -> None:
    app = make_app(summary_dir=tagged_run(tmp_path))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ChecksTable)
        assert table.virtual_size.width <= table.size.width  # nothing to scroll sideways to
        lines = screen_text(app)
        for check, value in zip(TAGGED, ("312 ms", "1,780 ms", "0.21%"), strict=True):
            row = next((ln for ln in lines if check["threshold"] in ln), None)
            assert row is not None, f"{check['threshold']} is not on screen"
            assert value in row
            assert check["status"].upper() in row
            assert "…" in row  # the name was shortened, in its middle
        # the highlighted check's full name is in the detail below
        detail = app.screen.query_one(CheckDetail)
        assert detail.check is not None
        assert detail.check["name"] == STATEMENT
        await pilot.press("down")
        await pilot.pause()
        assert detail.check is not None
        assert detail.check["name"] == EXPORT
        assert EXPORT in detail.render().plain  # wrapped on screen, but whole


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24"),
                                  pytest.param((160, 48), id="160x48")])
def test_result_view_tagged_thresholds(snap_compare: Compare, tmp_path: Path,
                                       size: tuple[int, int]) -> None:
    assert snap_compare(make_app(summary_dir=tagged_run(tmp_path)), terminal_size=size)
