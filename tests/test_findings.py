"""Findings rules: each fires on data with the evidence and stays silent without it."""

from __future__ import annotations

import json
from pathlib import Path

from perfdash.analyze.endpoints import read_endpoints
from perfdash.analyze.findings import (
    findings,
    rule_endpoint_errors,
    rule_latency_cpu,
    rule_latency_db,
    rule_log_burst,
)
from perfdash.artifacts.timeline import Timeline
from perfdash.collect.access_log import count_file

FOREIGN = Path(__file__).parent / "data" / "endpoints" / "foreign-run"


def tl(n: int = 60, **cols: list[float | None]) -> Timeline:
    """A synthetic timeline: one row per second; each column padded with its last value."""
    series = {k: (v + [v[-1]] * (n - len(v)))[:n] for k, v in cols.items()}
    return Timeline([float(i) for i in range(n)], series)


def step(before: float, after: float, at: int, n: int = 60) -> list[float | None]:
    return [before] * at + [after] * (n - at)


def test_latency_jump_with_cpu_saturation() -> None:
    fired = rule_latency_cpu(tl(k6_p95_ms=step(35, 240, 38), cpu_pct=step(40, 100, 37)))
    assert len(fired) == 1
    assert fired[0].at_s == 38
    assert "35 ms to 240 ms at 0:38" in fired[0].text and "100%" in fired[0].text  # noqa: PT018
    assert fired[0].series == ("k6_p95_ms", "cpu_pct")


def test_no_cpu_finding_without_saturation_or_without_a_jump() -> None:
    assert rule_latency_cpu(tl(k6_p95_ms=step(35, 240, 38), cpu_pct=step(40, 60, 37))) == []
    assert rule_latency_cpu(tl(k6_p95_ms=step(35, 45, 38), cpu_pct=step(40, 100, 37))) == []
    assert rule_latency_cpu(tl(cpu_pct=step(40, 100, 37))) == []


def test_latency_jump_with_database_pool_at_max() -> None:
    fired = rule_latency_db(tl(art_p95_ms=step(50, 100, 72, 90), db_total=step(20, 100, 72, 90),
                               db_max=[100.0], n=90))
    assert len(fired) == 1
    assert "max_connections at 1:12" in fired[0].text and "2.0×" in fired[0].text  # noqa: PT018


def test_no_database_finding_while_connections_have_room() -> None:
    assert rule_latency_db(tl(art_p95_ms=step(50, 100, 72, 90), db_total=step(20, 60, 72, 90),
                              db_max=[100.0], db_idle_in_tx=[1.0], n=90)) == []


def test_log_error_burst_aligned_with_a_jump() -> None:
    fired = rule_log_burst(tl(k6_p95_ms=step(30, 200, 20), log_errors=[0.0] * 21 + [40.0] + [0.0]))
    assert len(fired) == 1
    assert "40/s at 0:21" in fired[0].text
    by_error_rate = rule_log_burst(tl(k6_error_rate=step(0.0, 0.2, 20),
                                      log_errors=[0.0] * 20 + [12.0] + [0.0]))
    assert len(by_error_rate) == 1 and "0% to 20%" in by_error_rate[0].text  # noqa: PT018


def test_no_burst_finding_when_errors_are_steady_or_far_from_the_jump() -> None:
    assert rule_log_burst(tl(k6_p95_ms=step(30, 200, 20), log_errors=[6.0])) == []
    assert rule_log_burst(tl(k6_p95_ms=step(30, 200, 20),
                             log_errors=[0.0] * 50 + [40.0] + [0.0])) == []


def test_endpoint_errors_need_errors_and_two_sources() -> None:
    row = {"endpoint": "/api/flaky", "sources": {
        "k6": {"requests": 100, "errors": 11, "status_5xx": 11},
        "artillery": {"requests": 20, "errors": 1, "status_5xx": 1},
        "log": {"requests": 120, "errors": 12, "status_5xx": 12}}}
    fired = rule_endpoint_errors({"rows": [row]})
    assert fired[0].text.startswith("Errors on /api/flaky: 11 in k6 (11 5xx), 1 in Artillery")
    clean = {"endpoint": "/a", "sources": {"k6": {"requests": 5, "errors": 0},
                                           "log": {"requests": 5, "errors": 0, "status_5xx": 0}}}
    alone = {"endpoint": "/b", "sources": {"log": {"requests": 5, "errors": 3, "status_5xx": 3}}}
    assert rule_endpoint_errors({"rows": [clean, alone]}) == []
    assert findings(None, None) == []


def test_the_recorded_run_names_the_flaky_endpoint(tmp_path: Path) -> None:
    for name in ("k6-rec.json", "artillery-rec.json"):
        (tmp_path / name).write_bytes((FOREIGN / name).read_bytes())
    (tmp_path / "applog-endpoints.json").write_text(json.dumps(count_file(FOREIGN / "shopfront.jsonl")))
    found = findings(None, read_endpoints(tmp_path, "rec", k6_script=FOREIGN / "flaky.js"))
    assert [f.text for f in found] == [
        "Errors on /api/flaky: 8 in k6, 7 in Artillery, 46 in the log (0 5xx, 46 without a status)"]
