"""Honest verdicts at the edges: a load tool that ran and measured failures fails the run (exit 1) and
names what failed; "not measured" (exit 3) is kept for a backend that answered nothing at all; a rate
with no sample is never a pass; the health route polled during the load is a check of its own.

Fast tier: real k6 1.1.0 and Artillery 2.0.34 reports recorded on loopback (tests/data/verdicts, see
its README) are put into a copy of a real run directory (tests/data/smoke-full), and the run is judged
again the way `perfdash show` does it (`reanalyse`), summary.md included.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from perfdash.analyze.health import health_check
from perfdash.analyze.reports import junit_xml, summary_markdown
from perfdash.analyze.summary import RunRecord, collect_checks, reanalyse
from perfdash.analyze.verdict import EXIT_CODES, overall_status
from perfdash.artifacts import RunPaths
from perfdash.collect.health import BackendWatcher
from perfdash.collect.log_set import LogSet
from perfdash.events import Bus
from perfdash.settings import LogSpec, load_settings

from .conftest import ROOT

RUN = ROOT / "tests" / "data" / "smoke-full"
REPORTS = ROOT / "tests" / "data" / "verdicts"
REJECTED_LINE = "2026-12-04 23:26:57,420 WARNING socket handshake rejected: unauthorized"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    target = tmp_path / "20261204T203734Z"
    shutil.copytree(RUN, target)
    return target


def _store(run_dir: Path, **fields: Any) -> None:
    """Change what the live run recorded in summary.json (the app log's counts, the health polls)."""
    path = run_dir / "summary.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored.update(fields)
    path.write_text(json.dumps(stored), encoding="utf-8")


def _judge(run_dir: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]], str]:
    """The run judged again from its files: the summary, its checks by id, and summary.md."""
    summary, problem = reanalyse(run_dir)
    assert problem is None, problem
    assert summary is not None
    checks = {str(c["id"]): c for c in summary["checks"]}
    return summary, checks, summary_markdown(summary, run_dir)


def _use_artillery(run_dir: Path, report: str) -> None:
    shutil.copy(REPORTS / f"artillery-{report}.json", run_dir / "artillery-smoke.json")


def _use_k6(run_dir: Path, report: str, *, stderr: bool = True) -> None:
    shutil.copy(REPORTS / f"k6-{report}.json", run_dir / "k6-smoke.json")
    if stderr:
        shutil.copy(REPORTS / f"k6-{report}.stderr.log", run_dir / "k6.stderr.log")
    else:
        (run_dir / "k6.stderr.log").unlink(missing_ok=True)


def test_the_fixture_run_passes_as_is(run_dir: Path) -> None:
    summary, checks, _ = _judge(run_dir)
    assert summary["status"] == "pass", [c for c in checks.values() if c["status"] != "pass"]
    assert checks["artillery.errors"]["status"] == "pass"
    assert checks["artillery.requests"]["status"] == "pass"


# ------------------------------------------------------------------------------ Artillery

APP_LOG = {"path": "/srv/app/app.log", "lines": 14, "errors": 0, "warnings": 10, "unmeasured": None,
           "pool_lines": None, "error_lines": [], "warning_lines": [REJECTED_LINE]}


def test_every_handshake_rejected_is_a_fail_naming_the_errors_and_the_app_log(run_dir: Path) -> None:
    _use_artillery(run_dir, "handshake-rejected")
    _store(run_dir, app_log=APP_LOG)
    summary, checks, markdown = _judge(run_dir)
    assert summary["status"] == "fail"
    assert summary["exit_code"] == EXIT_CODES["fail"] == 1
    requests = checks["artillery.requests"]
    assert requests["status"] == "fail"
    assert "errors.Error: unauthorized ×10" in requests["detail"]
    assert "backend answered" in requests["detail"]
    assert "is the backend answering at all" not in requests["detail"]
    # what the backend logged in the same window, quoted
    assert "0 ERROR and 10 WARN lines" in requests["detail"]
    assert REJECTED_LINE in requests["detail"]
    errors = checks["artillery.errors"]
    assert errors["value"] == 10
    assert errors["status"] == "warn"
    assert "errors.Error: unauthorized ×10" in errors["detail"]
    assert "10 of 10 virtual users failed" in errors["detail"]
    # the counter is in summary.md, in full, under its own heading
    assert "## Errors the load tools counted" in markdown
    assert "- Artillery errors: errors.Error: unauthorized ×10; 10 of 10 virtual users failed" in markdown
    section = markdown.split("## Errors the load tools counted", 1)[1].split("\n## ", 1)[0]
    assert REJECTED_LINE in section  # in full, where the checks table cuts long details
    assert markdown.startswith("# ❌ FAIL")


def test_every_http_request_answered_401_is_a_fail(run_dir: Path) -> None:
    """Artillery counts a virtual user whose every request got a 401 as completed: still nothing
    succeeded, and the backend said so."""
    _use_artillery(run_dir, "http-401")
    summary, checks, _ = _judge(run_dir)
    assert checks["artillery.requests"]["status"] == "fail"
    assert "HTTP 401 ×10" in checks["artillery.requests"]["detail"]
    assert summary["status"] == "fail"


def test_a_refused_port_is_not_measured_and_names_the_error(run_dir: Path) -> None:
    _use_artillery(run_dir, "refused")
    summary, checks, markdown = _judge(run_dir)
    requests = checks["artillery.requests"]
    assert requests["status"] == "not measured"
    assert "errors.ECONNREFUSED ×10" in requests["detail"]
    assert "got any answer" in requests["detail"]
    assert summary["status"] == "incomplete"
    assert summary["exit_code"] == 3
    assert "errors.ECONNREFUSED ×10" in markdown


@pytest.mark.parametrize("error", ["ETIMEDOUT", "Error: xhr poll error", "Error: websocket error",
                                   "ECONNRESET"])
def test_errors_without_an_answer_never_fail_the_run(run_dir: Path, error: str) -> None:
    report = json.loads((REPORTS / "artillery-refused.json").read_text(encoding="utf-8"))
    counters = report["aggregate"]["counters"]
    counters[f"errors.{error}"] = counters.pop("errors.ECONNREFUSED")
    (run_dir / "artillery-smoke.json").write_text(json.dumps(report), encoding="utf-8")
    summary, checks, _ = _judge(run_dir)
    assert checks["artillery.requests"]["status"] == "not measured"
    assert summary["status"] == "incomplete"


def test_an_error_rate_of_no_virtual_user_is_not_a_pass(tmp_path: Path) -> None:
    """`ensure: maxErrorRate` over zero virtual users: Artillery says ok, there was nothing to rate."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    report = {"aggregate": {"counters": {"vusers.created": 0}, "summaries": {}}}
    (run_dir / "artillery-smoke.json").write_text(json.dumps(report), encoding="utf-8")
    (run_dir / "artillery.stdout.log").write_text("Checks:\nok: maxErrorRate < 5\n", encoding="utf-8")
    profile = load_settings(ROOT).profile("smoke")
    from perfdash.tools import tool

    checks = {c.id: c for c in tool("artillery").checks(run_dir, profile, {"returncode": 0}, None)}
    assert checks["artillery.ensure.0"].status == "not measured"
    assert checks["artillery.requests"].status == "not measured"
    assert overall_status(list(checks.values())) == "incomplete"


# ------------------------------------------------------------------------------------ k6

def test_k6_requests_all_answered_401_fail_naming_the_failed_check(run_dir: Path) -> None:
    _use_k6(run_dir, "401")
    summary, checks, _ = _judge(run_dir)
    requests = checks["k6.requests"]
    assert requests["status"] == "fail"
    assert "backend answered 20 of them with an error status" in requests["detail"]
    assert "status 200 (20 of 20 failed)" in requests["detail"]
    assert summary["status"] == "fail"
    assert summary["exit_code"] == 1


def test_the_backends_request_lines_are_named_beside_a_rejected_load(run_dir: Path) -> None:
    """An access-log app log counted the 401s per route: they are quoted with k6's own counts."""
    _use_k6(run_dir, "401")
    path = run_dir / "applog-endpoints.json"
    counts = json.loads(path.read_text(encoding="utf-8"))
    counts["routes"]["/api/products"]["by_class"] = {"4xx": 20}
    counts["routes"]["/api/orders"]["by_class"] = {"2xx": 100, "5xx": 2}
    path.write_text(json.dumps(counts), encoding="utf-8")
    _, checks, _ = _judge(run_dir)
    assert "its request lines: /api/products 4xx ×20, /api/orders 5xx ×2" in checks["k6.requests"]["detail"]


def test_k6_errors_only_fail_even_when_every_iteration_was_cut_off(run_dir: Path) -> None:
    """No iteration finished, but every request got its 401: the backend answered, a failure."""
    _use_k6(run_dir, "401")
    export = json.loads((run_dir / "k6-smoke.json").read_text(encoding="utf-8"))
    del export["metrics"]["iterations"]
    (run_dir / "k6-smoke.json").write_text(json.dumps(export), encoding="utf-8")
    summary, checks, _ = _judge(run_dir)
    assert checks["k6.requests"]["status"] == "fail"
    assert summary["status"] == "fail"


@pytest.mark.parametrize(("report", "reason"), [("refused", "connection refused ×20"),
                                                ("timeout", "request timeout ×6")])
def test_k6_requests_without_any_answer_are_not_measured(run_dir: Path, report: str,
                                                         reason: str) -> None:
    _use_k6(run_dir, report)
    summary, checks, _ = _judge(run_dir)
    requests = checks["k6.requests"]
    assert requests["status"] == "not measured"
    assert reason in requests["detail"]
    assert summary["status"] == "incomplete"
    assert summary["exit_code"] == 3


@pytest.mark.parametrize(("report", "status"), [("401", "fail"), ("refused", "not measured")])
def test_k6_without_its_log_tells_by_the_bytes_received(run_dir: Path, report: str,
                                                        status: str) -> None:
    _use_k6(run_dir, report, stderr=False)
    _, checks, _ = _judge(run_dir)
    assert checks["k6.requests"]["status"] == status


def test_k6_rates_with_no_sample_are_not_measured_never_pass(run_dir: Path) -> None:
    """k6 said "ok" to `checks: rate>=0.99` and `http_req_failed: rate<0.01` over no sample at all."""
    _use_k6(run_dir, "noiter")
    summary, checks, markdown = _judge(run_dir)
    for cid in ("k6.checks_rate", "k6.http_req_failed.rate"):
        assert checks[cid]["status"] == "not measured", checks[cid]
        assert "0 of 0" in checks[cid]["detail"]
    assert summary["status"] == "incomplete"
    assert "pass (0 of 0" not in markdown
    assert "0 of 0 passed" not in json.dumps(summary["checks"])
    # a rate of nothing is an error in a CI test view, never a green case
    assert 'message="not measured: k6 recorded no sample of checks' in junit_xml(summary)


def test_a_rate_with_no_sample_alone_keeps_a_run_from_passing(run_dir: Path) -> None:
    """Everything else measured and fine, the k6 checks rate alone over no sample: incomplete."""
    export = json.loads((run_dir / "k6-smoke.json").read_text(encoding="utf-8"))
    export["metrics"]["checks"] = {"passes": 0, "fails": 0, "value": 0,
                                   "thresholds": {"rate>=0.99": False}}
    (run_dir / "k6-smoke.json").write_text(json.dumps(export), encoding="utf-8")
    summary, checks, _ = _judge(run_dir)
    assert checks["k6.checks_rate"]["status"] == "not measured"
    assert summary["status"] == "incomplete"
    assert summary["counts"].get("pass", 0) == sum(
        1 for c in checks.values() if c["status"] == "pass")


# -------------------------------------------------------------------------------- health

def _health(codes: dict[str, int], timeouts: int = 0,
            no_answer: dict[str, int] | None = None) -> dict[str, Any]:
    return {"path": "/health", "interval_s": 2.0, "polls": sum(codes.values()) + timeouts,
            "codes": codes, "timeouts": timeouts, "no_answer": no_answer or {}}


@pytest.mark.parametrize(("health", "status", "detail"), [
    (_health({"200": 60}), "pass", "60 × 200, 0 timeouts"),
    (_health({"200": 58, "503": 2}), "warn", "58 × 200, 2 × 503, 0 timeouts"),
    (_health({"200": 10, "503": 2}, timeouts=3), "fail", "10 × 200, 2 × 503, 3 timeouts"),
    (_health({"200": 5}, no_answer={"[Errno 111] Connection refused": 5}), "fail",
     "5 × no answer ([Errno 111] Connection refused)"),
    (_health({"404": 30}), "warn", "is /health the backend's health route"),
    (_health({}), "not measured", "before the health route was polled once"),
])
def test_health_route_check(health: dict[str, Any], status: str, detail: str) -> None:
    check = health_check(health)
    assert check.name == "Health GET /health"
    assert check.status == status
    assert detail in check.detail


def test_health_polls_are_a_check_in_the_summary(run_dir: Path) -> None:
    _store(run_dir, health=_health({"200": 58, "503": 2}))
    summary, checks, markdown = _judge(run_dir)
    assert checks["health.polls"]["status"] == "warn"
    assert checks["health.polls"]["value"] == 2
    assert "58 × 200, 2 × 503, 0 timeouts" in markdown
    assert summary["status"] == "pass"  # a warning does not fail the run


def test_an_old_summary_without_health_has_no_health_check(run_dir: Path) -> None:
    _, checks, _ = _judge(run_dir)
    assert "health.polls" not in checks


class _Flaky(BaseHTTPRequestHandler):
    """/health answers 200, except the polls listed in `sick` (by number), which get 503."""

    sick: frozenset[int] = frozenset({2})
    seen = 0

    def do_GET(self) -> None:
        type(self).seen += 1
        code = 503 if type(self).seen in self.sick else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def flaky_backend() -> Iterator[str]:
    _Flaky.seen = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_watcher_counts_every_answer_from_the_first_poll(flaky_backend: str) -> None:
    watcher = BackendWatcher(Bus(), flaky_backend + "/health", interval_s=0.1, path="/health")
    watcher.start()
    deadline = time.monotonic() + 5
    while sum(watcher.codes.values()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    watcher.stop()
    answers = watcher.answers()
    assert answers["codes"]["503"] == 1
    assert answers["codes"]["200"] == answers["polls"] - 1 >= 3
    assert answers["timeouts"] == 0
    assert answers["no_answer"] == {}
    assert watcher.lost is None  # one 503 is not a lost backend
    check = health_check(answers)
    assert check.status == "warn"
    assert "1 × 503" in check.detail


def test_a_watcher_stopped_at_once_has_still_polled() -> None:
    """The first poll goes out as the load starts: even a run shorter than one interval has one."""
    watcher = BackendWatcher(Bus(), "http://127.0.0.1:9/health", interval_s=30.0, path="/health")
    watcher.start()
    time.sleep(0.3)
    watcher.stop()
    answers = watcher.answers()
    assert answers["polls"] == 1
    assert health_check(answers).status == "fail"  # port 9 answers nothing


# ------------------------------------------------------------------------------- app log

def _follow(logs: LogSet, total: int) -> dict[str, Any]:
    logs.start()
    deadline = time.monotonic() + 5
    while logs.lines_total < total and time.monotonic() < deadline:
        time.sleep(0.05)
    logs.stop()
    return logs.record()


def test_the_tail_keeps_the_first_error_and_warning_lines(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    lines = [f"2026-12-04 10:00:{i:02d} INFO GET /api/products 200" for i in range(50)]
    lines[10] = "2026-12-04 10:00:10 ERROR db: connection reset"
    lines += [f"2026-12-04 10:01:{i:02d} WARNING socket handshake rejected: unauthorized"
              for i in range(8)]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    record = _follow(LogSet(Bus(), [LogSpec(log, "app")], from_start=True), len(lines))
    assert record["errors"] == 1
    assert record["warnings"] == 8
    assert record["error_lines"] == ["2026-12-04 10:00:10 ERROR db: connection reset"]
    assert record["warning_lines"] == lines[50:55]


def test_several_app_logs_name_the_file_of_each_quoted_line(tmp_path: Path) -> None:
    api, worker = tmp_path / "api.log", tmp_path / "worker.log"
    api.write_text("2026-12-04 10:00:00 ERROR api: upstream refused\n", encoding="utf-8")
    worker.write_text("2026-12-04 10:00:01 ERROR worker: job failed\n"
                      "2026-12-04 10:00:02 INFO worker: idle\n", encoding="utf-8")
    access = tmp_path / "access.log"  # read for its requests, never quoted
    access.write_text('127.0.0.1 - - [04/Dec/2026:10:00:00 +0000] "GET /x HTTP/1.1" 500 1\n',
                      encoding="utf-8")
    logs = LogSet(Bus(), [LogSpec(api, "app"), LogSpec(worker, "app"), LogSpec(access, "access")],
                  from_start=True)
    record = _follow(logs, 3)
    assert record["error_lines"] == ["[api.log] 2026-12-04 10:00:00 ERROR api: upstream refused",
                                     "[worker.log] 2026-12-04 10:00:01 ERROR worker: job failed"]
    assert record["warning_lines"] == []


def test_app_log_lines_are_quoted_only_beside_a_failed_load_tool(run_dir: Path) -> None:
    record = RunRecord(started_at=datetime.now(UTC), load_started=True, app_log=APP_LOG)
    profile = load_settings(ROOT).profile("smoke")
    checks = {c.id: c for c in collect_checks(RunPaths(run_dir, "smoke"), profile, record)}
    assert checks["artillery.requests"].status == "pass"
    assert REJECTED_LINE not in checks["artillery.requests"].detail


# --------------------------------------------------------------------------- k6's own log

def test_k6_log_reasons_are_read_in_both_log_formats_and_counted_past_the_cap(tmp_path: Path) -> None:
    from perfdash.tools.k6 import transport
    from perfdash.tools.k6.transport import unanswered

    assert unanswered(tmp_path) is None  # no k6 log: the caller falls back on the bytes received
    logfmt = ('time="2026-12-04T23:27:25Z" level=warning msg="Request Failed" error="Get \\"http://'
              '127.0.0.1:9/api\\": dial tcp 127.0.0.1:9: connect: connection refused"\n')
    as_json = ('{"error":"Get \\"http://127.0.0.1:9/api\\": request timeout","level":"warning",'
               '"msg":"Request Failed","time":"2026-12-04T23:27:25Z"}\n')
    other = 'time="2026-12-04T23:27:27Z" level=error msg="thresholds on metrics \'checks\' crossed"\n'
    (tmp_path / "k6.stderr.log").write_text(logfmt * 3 + as_json * 2 + other, encoding="utf-8")
    (tmp_path / "k6.gen-2.stderr.log").write_text(logfmt, encoding="utf-8")  # a second generator
    found = unanswered(tmp_path)
    assert found is not None
    assert found.count == 6
    assert found.describe() == "connection refused ×4, request timeout ×2"
    flood = tmp_path / "flood"
    flood.mkdir()
    (flood / "k6.stderr.log").write_text(logfmt * (transport.CLASSIFIED_LINES + 500), encoding="utf-8")
    found = unanswered(flood)
    assert found is not None
    assert found.count == transport.CLASSIFIED_LINES + 500
    assert f"(the first {transport.CLASSIFIED_LINES} of {found.count} read)" in found.describe()
