"""End to end through the real `perfdash` entry point: real k6, Artillery, PostgreSQL, demo backend.

One `perfdash demo --headless` smoke run is shared by the artifact checks; the failing-threshold run
goes through `perfdash run --env local` against the session's shared demo backend, which also proves
the external-environment path (settings from PERF_* variables).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from .conftest import ROOT, DemoService

pytestmark = pytest.mark.e2e
PERFDASH = str(Path(sys.executable).parent / "perfdash")


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    run_dir: Path
    wall_s: float

    def json(self, name: str) -> Any:
        return json.loads((self.run_dir / name).read_text())


def run_perfdash(args: list[str], results: Path, env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> Finished:
    start = time.monotonic()
    proc = subprocess.run([PERFDASH, *args, "--results-dir", str(results)], cwd=cwd,
                          capture_output=True, text=True, timeout=240,
                          env={**os.environ, **(env or {})}, check=False)
    wall = time.monotonic() - start
    dirs = sorted(p for p in results.iterdir() if p.is_dir()) if results.exists() else []
    assert dirs, f"no run directory; stderr: {proc.stderr[-2000:]}"
    return Finished(proc.returncode, proc.stdout, proc.stderr, dirs[-1], wall)


def processes_mentioning(*needles: str) -> list[str]:
    """Command lines of live processes that mention any needle (orphans are reparented to init,
    so looking at our own children would miss exactly the leaks we look for)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
        except psutil.Error:
            continue
        if proc.info["status"] != "zombie" and any(n in cmd for n in needles):
            found.append(f"{proc.pid}: {cmd[:200]}")
    return found


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    result = run_perfdash(["demo", "--headless"], tmp_path_factory.mktemp("results"))
    assert processes_mentioning(str(result.run_dir)) == [], "perfdash left tools running"
    log = (result.run_dir / "perfdash.log").read_text()
    cluster_dir = re.search(r"throwaway PostgreSQL on \S+ in (\S+)", log)
    assert cluster_dir, log
    assert processes_mentioning(cluster_dir[1]) == [], "the demo cluster outlived the run"
    assert not Path(cluster_dir[1]).exists(), "the demo cluster's files were left behind"
    return result


def test_demo_smoke_passes_and_says_so(demo_run: Finished) -> None:
    summary = demo_run.json("summary.json")
    assert demo_run.code == summary["exit_code"], demo_run.stdout[-3000:]
    assert summary["status"] == "pass", json.dumps(summary["checks"], indent=1)
    assert "overall status: PASS" in demo_run.stdout
    print(f"smoke demo wall time: {demo_run.wall_s:.1f} s")


def test_k6_summary_has_requests_and_p95(demo_run: Finished) -> None:
    k6 = demo_run.json("k6-smoke.json")
    assert k6["metrics"]["http_reqs"]["count"] > 50
    duration = k6["metrics"]["http_req_duration"]
    assert duration["p(95)"] > 0
    assert duration["p(99)"] >= duration["p(95)"]
    assert k6["metrics"]["checks"]["passes"] > 0


def test_artillery_report_has_http_and_socketio(demo_run: Finished) -> None:
    report = demo_run.json("artillery-smoke.json")["aggregate"]
    assert report["summaries"]["http.response_time"]["count"] > 0
    assert report["summaries"]["socketio.response_time"]["count"] > 0
    assert report["counters"]["socketio.emit"] > 0
    assert report["counters"].get("vusers.failed", 0) == 0
    progress = (demo_run.run_dir / "artillery-progress.ndjson").read_text().splitlines()
    assert any(json.loads(line)["type"] == "summary" for line in progress)


def test_metrics_csv_has_about_one_row_per_second(demo_run: Finished) -> None:
    with (demo_run.run_dir / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    load_s = max(t["elapsed_s"] for t in demo_run.json("summary.json")["tools"].values())
    assert 0.7 * load_s <= len(rows) <= 1.3 * load_s + 3, (len(rows), load_s)
    assert all(0 <= float(r["cpu_pct"]) <= 100 for r in rows)
    assert any(r["backend_rss_mb"] for r in rows), "the backend process is sampled"


def test_query_analysis_finds_the_planted_problems(demo_run: Finished) -> None:
    qa = demo_run.json("query-analysis.json")
    scans = {s["table"]: s for s in qa["sequential_scans"]}
    orders = next(v for k, v in scans.items() if k.endswith("orders"))
    assert orders["seq_scan"] > 0
    assert "customer_id" in orders["hint"]
    slow = [q for q in qa["slow_queries"] if "pg_sleep" in q["query"]]
    assert slow, qa["slow_queries"]
    assert slow[0]["mean_ms"] > 100


def test_summary_points_at_every_artifact_and_holds_no_secret(demo_run: Finished) -> None:
    summary = demo_run.json("summary.json")
    for role in ("k6_summary", "artillery_report", "metrics_csv", "query_analysis", "events"):
        entry = summary["artifacts"][role]
        assert entry["exists"], role
        assert (demo_run.run_dir / entry["path"]).is_file()
    for check in summary["checks"]:
        assert check["status"] in ("pass", "warn", "fail", "not measured")
        assert check["source"]
    ids = {c["id"] for c in summary["checks"]}
    assert {"k6.http_req_duration.p(95)", "k6.checks_rate", "artillery.socketio.errors.count",
            "host.cpu", "db.slow_queries", "db.seq_scans"} <= ids
    limits = {c["id"]: c["limit"] for c in summary["checks"]}
    assert limits["k6.http_req_duration.p(95)"] == {"stat": "p(95)", "op": "<", "value": 500.0,
                                                    "unit": "", "text": "p(95)<500"}
    assert limits["host.cpu"]["unit"] == "%"
    assert limits["db.seq_scans"] is None  # prose: "none on large tables"
    assert summary["configuration"]["profile"]["name"] == "smoke"
    assert "://" not in json.dumps(summary["configuration"]["environment"])


def test_failing_threshold_exits_1_and_names_the_check(
        demo_service: DemoService, tmp_path: Path) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text((ROOT / "profiles.toml").read_text().replace(
        '"http_req_duration" = ["p(95)<500"]', '"http_req_duration" = ["p(95)<0.001"]', 1))
    env = {"PERF_BASE_URL": demo_service.base_url,
           "PERF_DATABASE_URL": demo_service.database_url.reveal(),
           "PERF_API_TOKEN": demo_service.token.reveal()}
    result = run_perfdash(["run", "--profile", "smoke", "--env", "local", "--headless",
                           "--config", str(config), "--project", str(ROOT)], tmp_path / "res",
                          env=env)
    summary = result.json("summary.json")
    assert result.code == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert summary["status"] == "fail"
    failing = [c for c in summary["checks"] if c["status"] == "fail"]
    # the breached threshold, and k6's own verdict on it (exit 99)
    assert [c["id"] for c in failing] == ["k6.http_req_duration.p(95)", "k6.exit"]
    assert failing[0]["limit"]["value"] == 0.001
    assert failing[1]["value"] == 99
    assert "k6 http_req_duration p(95)" in result.stdout
    assert "overall status: FAIL" in result.stdout
    for path in result.run_dir.iterdir():
        text = path.read_text(errors="replace")
        assert demo_service.token.reveal() not in text, path.name
        assert demo_service.cluster.password.reveal() not in text, path.name


def test_event_stream_is_recorded_in_order_and_agrees_with_the_reports(demo_run: Finished
                                                                        ) -> None:
    events = [json.loads(line) for line in
              (demo_run.run_dir / "events.ndjson").read_text().splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "RunStarted"
    phases = [e["phase"] for e in events if e["type"] == "PhaseChanged"]
    assert phases == ["stack", "preflight", "seed", "load", "analysis", "cleanup", "done"]
    assert types.index("RunFinished") > max(i for i, t in enumerate(types) if t == "ToolExited")
    # Recorded in publish order; events made on different threads may differ by a hair.
    assert all(b["at"] >= a["at"] - 0.05 for a, b in itertools.pairwise(events))

    progress = [(e["tool"], dict(e["fields"]), e["counts"]) for e in events
                if e["type"] == "ToolProgressed"]
    k6_events = [fields for tool, fields, _ in progress if tool == "k6"]
    assert len(k6_events) >= 10  # about one a second over 20 s
    counts = [e["requests"] for e in k6_events]
    assert counts == sorted(counts)  # cumulative
    final = demo_run.json("k6-smoke.json")["metrics"]["http_reqs"]["count"]
    assert 0.8 * final <= counts[-1] <= final
    assert max(e["users_max"] for e in k6_events) >= 3

    art = [fields for tool, fields, _ in progress if tool == "artillery"]
    report = demo_run.json("artillery-smoke.json")["aggregate"]["counters"]
    assert art, "Artillery progress arrived live"
    assert art[-1]["vusers_created"] == report["vusers.created"]
    assert art[-1]["emits"] == report["socketio.emit"]

    samples = [e for e in events if e["type"] == "SystemSampled"]
    assert len(samples) >= 15
    logs = [e for e in events if e["type"] == "LogLinesRead"]
    assert sum(len(e["lines"]) + e["dropped"] for e in logs) > 100  # the backend's request lines
    assert any(e["type"] == "DatabaseSampled" for e in events)


def test_show_prints_the_same_verdict(demo_run: Finished) -> None:
    out = subprocess.run([PERFDASH, "show", str(demo_run.run_dir)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == demo_run.code
    assert "overall status: PASS" in out.stdout
    assert "k6 http_req_duration p(95)" in out.stdout


def test_show_reanalyses_the_artifacts_to_the_same_verdict(demo_run: Finished) -> None:
    from perfdash.analyze.summary import reanalyse

    fresh, problem = reanalyse(demo_run.run_dir)
    stored = demo_run.json("summary.json")
    assert problem is None
    assert fresh is not None
    assert [(c["id"], c["status"], c["value"], c["limit"]) for c in fresh["checks"]] == \
        [(c["id"], c["status"], c["value"], c["limit"]) for c in stored["checks"]]
    assert fresh["status"] == stored["status"]


def test_reports_are_written_beside_the_summary(demo_run: Finished) -> None:
    md = (demo_run.run_dir / "summary.md").read_text()
    assert "PASS" in md
    assert "k6 http_req_duration p(95)" in md
    junit = (demo_run.run_dir / "junit.xml").read_text()
    assert junit.count("<testcase") == len(demo_run.json("summary.json")["checks"])
    assert not (demo_run.run_dir / "incident.md").exists()


def test_baseline_last_compares_with_the_previous_run(
        demo_run: Finished, demo_service: DemoService) -> None:
    env = {"PERF_BASE_URL": demo_service.base_url,
           "PERF_DATABASE_URL": demo_service.database_url.reveal(),
           "PERF_API_TOKEN": demo_service.token.reveal()}
    result = run_perfdash(["run", "--profile", "smoke", "--env", "local", "--headless",
                           "--baseline", "last"], demo_run.run_dir.parent, env=env)
    assert result.run_dir != demo_run.run_dir
    summary = result.json("summary.json")
    assert summary["baseline"]["run_dir"] == str(demo_run.run_dir)
    check = next(c for c in summary["checks"] if c["id"] == "baseline.regressions")
    assert check["status"] in ("pass", "warn")  # the smoke profile only warns on regressions
    assert (result.run_dir / "comparison.md").is_file()
    assert "k6 http_req_duration p(95)" in (result.run_dir / "comparison.md").read_text()
    assert f"Regressions against {demo_run.run_dir.name}" in result.stdout
    assert "no clear change" in result.stdout  # the comparison table follows the verdict
