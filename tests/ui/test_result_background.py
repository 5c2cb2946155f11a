"""`perfdash show` of a long run: the verdict appears before the timeline is read, the charts follow,
and the verdict is computed again from the artifacts (in a real child `perfdash show --json`)
behind the first frame, replacing a stored verdict that the artifacts no longer support."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from perfdash.timeline.recorder import TIMELINE_CSV
from perfdash.ui.app import make_app
from perfdash.ui.result import result_screen, run_data
from perfdash.ui.result.result_screen import ResultScreen
from perfdash.ui.result.timeline_charts import TimelineCharts
from tests.ui.conftest import PASS_RUN


def _long_run(tmp_path: Path) -> Path:
    """The recorded passing run with an hour of timeline rows and a stored verdict of "fail"."""
    run = tmp_path / "20261124T000000Z"
    shutil.copytree(PASS_RUN, run)
    with (run / TIMELINE_CSV).open("w") as f:
        f.write("t_s,k6_rps,host_cpu_pct\n")
        for i in range(3600):
            f.write(f"{i},{20 + i % 7},{40 + i % 11}\n")
    summary = json.loads((run / "summary.json").read_text())
    summary.update(status="fail", exit_code=1)  # what the artifacts do not say
    (run / "summary.json").write_text(json.dumps(summary))
    return run


async def _until(condition: object, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_show_draws_the_verdict_first_then_the_charts_then_the_fresh_verdict(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_data, "LARGE_TIMELINE_BYTES", 1_000)  # this hour counts as long
    release = threading.Event()  # the timeline's reading waits for the first frame's checks
    real = result_screen.run_timeline

    def held_read(root: Path, summary: dict[str, Any]) -> Any:
        assert release.wait(30)
        return real(root, summary)

    monkeypatch.setattr(result_screen, "run_timeline", held_read)
    run = _long_run(tmp_path)
    app = make_app(summary_dir=run, reanalyse=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        # the first frame: the stored verdict, the timeline not read yet
        assert screen.run.summary["status"] == "fail"
        assert screen.run.timeline is None
        assert screen.run.timeline_problem == run_data.READING_TIMELINE
        assert "reading the timeline" in str(screen.query_one("#timeline-missing").render())
        release.set()
        await _until(lambda: screen.run.timeline is not None)
        await pilot.pause()
        charts = screen.query_one(TimelineCharts)
        assert charts.view is not None
        assert len(screen.run.timeline) == 3600
        await _until(lambda: app.fresh_summary is not None)
        await pilot.pause()
        assert screen.run.summary["status"] == "pass"  # the artifacts' verdict replaces it
        assert app.exit_code == 0
        assert charts.view is not None  # the same timeline, still drawn


async def test_a_short_run_is_drawn_whole_in_the_first_frame(tmp_path: Path) -> None:
    run = _long_run(tmp_path)  # 3600 rows are far below the default size for "long"
    app = make_app(summary_dir=run)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        assert screen.run.timeline is not None
        assert screen.query_one(TimelineCharts).view is not None
        assert app.fresh_summary is None  # nothing computed again without `reanalyse`
        assert app.exit_code == 1  # the stored verdict, as shown


async def test_an_unreadable_run_keeps_the_stored_verdict_and_says_why(
        tmp_path: Path) -> None:
    run = _long_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    summary["schema_version"] = 99  # the child refuses it with a sentence
    (run / "summary.json").write_text(json.dumps(summary))
    app = make_app(summary_dir=run, reanalyse=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        await _until(lambda: any("could not be computed again" in n.message
                                 for n in app._notifications))
        await pilot.pause()
        assert screen.run.summary["status"] == "fail"
        assert app.fresh_summary is None
        note = next(n.message for n in app._notifications if "computed again" in n.message)
        assert "schema_version 99" in note
