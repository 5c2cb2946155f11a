"""The result view's "findings and endpoints" pane on summary.json's real `endpoints` shape, built by
the analysis itself from the recorded foreign-project run (tests/data/endpoints/foreign-run), and on
the flat list older runs kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from perfdash.analyze.endpoints import read_endpoints
from perfdash.collect.access_log import count_file
from perfdash.ui.app import make_app
from perfdash.ui.result.findings_panel import ABSENT, ENDPOINT_ROWS, FindingsPanel
from perfdash.ui.result.result_screen import ResultScreen
from tests.ui.conftest import PASS_RUN
from tests.ui.test_result_screen import plain

FOREIGN = Path(__file__).parents[1] / "data" / "endpoints" / "foreign-run"


def joined_endpoints(tmp_path: Path) -> dict[str, Any]:
    """summary.json's "endpoints" as the analysis writes it: {"rows": [...], "missing": {...}}."""
    run = tmp_path / "foreign"
    run.mkdir()
    for name in ("k6-rec.json", "artillery-rec.json"):
        shutil.copy(FOREIGN / name, run / name)
    (run / "applog-endpoints.json").write_text(json.dumps(count_file(FOREIGN / "shopfront.jsonl")))
    return read_endpoints(run, "rec", k6_script=FOREIGN / "flaky.js")


def run_with(tmp_path: Path, **summary_keys: Any) -> Path:
    run_dir = tmp_path / PASS_RUN.name
    shutil.copytree(PASS_RUN, run_dir)
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(summary_keys)
    path.write_text(json.dumps(summary))
    return run_dir


async def pane_text(run_dir: Path) -> str:
    app = make_app(summary_dir=run_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ResultScreen)
        pane = app.screen.query_one(FindingsPanel)
        assert pane.region.height > 2  # on the screen, not collapsed
        return plain(pane.render())


async def test_the_joined_endpoint_rows_are_shown(tmp_path: Path) -> None:
    endpoints = joined_endpoints(tmp_path)
    assert isinstance(endpoints, dict) and len(endpoints["rows"]) == 5  # noqa: PT018
    endpoints["missing"] = {"k6": "no per-endpoint metric in the export"}
    shown = await pane_text(run_with(tmp_path, endpoints=endpoints, findings=[
        {"rule": "errors-with-latency", "text": "errors rose with p95 at 0:12", "at_s": 12.0,
         "series": ["errors"]}]))
    assert ABSENT not in shown
    assert "errors rose with p95 at 0:12" in shown
    lines = shown.splitlines()
    header = next(line for line in lines if "endpoint" in line and "p95" in line)
    assert header.split() == ["endpoint", "source", "requests", "p50", "p95", "p99", "errors", "5xx"]
    flaky = lines.index(next(line for line in lines if line.lstrip().startswith("/api/flaky")))
    # one line per source: the clients' figures above the server's own log
    assert lines[flaky].split()[:3] == ["/api/flaky", "k6", "98"]
    assert lines[flaky + 1].split()[:2] == ["artillery", "20"]
    assert lines[flaky + 2].split()[:2] == ["log", "149"]
    assert "46" in lines[flaky + 2].split()  # the server logged every reset
    for endpoint in ("/api/catalog/search", "/api/catalog/{}", "/healthz", "group:product page"):
        assert any(line.lstrip().startswith(endpoint) for line in lines), endpoint
    assert "k6: no per-endpoint metric in the export" in shown


async def test_many_endpoints_are_cut_with_a_count(tmp_path: Path) -> None:
    row = joined_endpoints(tmp_path)["rows"][0]
    rows = [{**row, "endpoint": f"/api/r{i}"} for i in range(ENDPOINT_ROWS + 3)]
    shown = await pane_text(run_with(tmp_path, endpoints={"rows": rows, "missing": {}}))
    assert f"/api/r{ENDPOINT_ROWS - 1} " in shown
    assert f"/api/r{ENDPOINT_ROWS} " not in shown
    assert "… 3 more endpoints in summary.json" in shown


async def test_an_older_runs_flat_list_is_still_shown(tmp_path: Path) -> None:
    shown = await pane_text(run_with(tmp_path, endpoints=[
        {"endpoint": "/api/orders", "requests": 120, "p95_ms": 48.5}]))
    assert "/api/orders" in shown
    assert "48.5" in shown


async def test_no_endpoint_rows_and_no_findings_says_so(tmp_path: Path) -> None:
    shown = await pane_text(run_with(tmp_path, endpoints={"rows": [], "missing": {}}, findings=[]))
    assert ABSENT in shown
