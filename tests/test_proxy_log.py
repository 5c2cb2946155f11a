"""Behind a reverse proxy: nginx's request time beside the backend's upstream time, read from the
proxy's access log, and the diagnosis of time spent in the proxy and requests it refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfdash.artifacts import read_applog_endpoints
from perfdash.collect.access_log import count_file
from perfdash.diagnose import diagnose, run_rules
from perfdash.diagnose.facts import EndpointLoad, Facts, ProxyTime

PREFIX = '127.0.0.1 - - [04/Dec/2026:20:31:02 +0000] "GET {path} HTTP/1.1" {status} 1532 "-" "k6/1.1.0"'


def _line(path: str, status: int, times: str) -> str:
    return PREFIX.format(path=path, status=status) + " " + times + "\n"


def _log(tmp_path: Path, lines: list[str]) -> Path:
    log = tmp_path / "access.log"
    log.write_text("".join(lines))
    return log


def test_request_and_upstream_times_are_read_per_route(tmp_path: Path) -> None:
    log = _log(tmp_path, [_line("/api/orders/17", 200, "0.182 0.012"),
                          _line("/api/orders/18", 200, "0.100 0.010, 0.020"),  # two upstream tries
                          _line("/api/orders/19", 503, "0.000 -"),  # answered by the proxy
                          _line("/api/plain", 200, "0.031")])
    data = count_file(log)
    assert data["upstream_times"] is True
    orders = data["routes"]["/api/orders/{}"]
    assert orders["count"] == 3
    assert orders["by_class"] == {"2xx": 2, "5xx": 1}
    assert orders["upstream_n"] == 2
    assert orders["upstream_avg_ms"] == pytest.approx((12 + 30) / 2)
    assert orders["proxy_avg_ms"] == pytest.approx((170 + 70) / 2)
    assert orders["proxy_answered"] == {"5xx": 1}
    assert orders["latency_avg_ms"] == pytest.approx((182 + 100 + 0) / 3)  # the proxy's own time
    plain = data["routes"]["/api/plain"]
    assert "upstream_n" not in plain
    assert plain["latency_avg_ms"] == pytest.approx(31.0)


def test_a_log_without_upstream_times_says_so(tmp_path: Path) -> None:
    data = count_file(_log(tmp_path, [_line("/a", 200, "0.031"), _line("/a", 200, "0.020")]))
    assert data["upstream_times"] is False
    assert data["routes"]["/a"]["latency_n"] == 2


def test_the_artifact_with_upstream_fields_passes_its_schema(tmp_path: Path) -> None:
    log = _log(tmp_path, [_line("/a", 200, "0.050 0.010")] * 3)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "applog-endpoints.json").write_text(json.dumps(count_file(log)))
    data, problem = read_applog_endpoints(tmp_path / "run")
    assert problem is None
    assert data is not None
    broken = json.loads((tmp_path / "run" / "applog-endpoints.json").read_text())
    broken["routes"]["/a"]["upstream_buckets"] = {"x": 1}
    (tmp_path / "run" / "applog-endpoints.json").write_text(json.dumps(broken))
    assert "upstream_buckets" in (read_applog_endpoints(tmp_path / "run")[1] or "")


def _proxied_facts(proxy_ms: float, upstream_ms: float, refused: int = 0) -> Facts:
    ep = EndpointLoad("/api/accounts/{}", 400, "log", proxy_ms + upstream_ms + 2, None, "k6",
                      proxy_ms + upstream_ms, None, 400 + refused, refused, refused)
    return Facts(endpoints=[ep], proxy_log=True, proxy={
        "/api/accounts/{}": ProxyTime(400, upstream_ms, proxy_ms, {"5xx": refused} if refused else {})})


def test_time_spent_in_the_proxy_is_named_with_both_times() -> None:
    result = run_rules(_proxied_facts(proxy_ms=140.0, upstream_ms=4.0))
    found = [f for f in result["findings"] if f["id"] == "reverse-proxy"]
    assert len(found) == 1
    assert found[0]["endpoint"] == "/api/accounts/{}"
    assert "140 ms" in found[0]["title"]
    assert "4.0 ms" in found[0]["title"]
    assert "limit_req" in found[0]["fix"]
    row = next(r for r in result["time_by_endpoint"] if r["endpoint"] == "/api/accounts/{}")
    assert "reverse proxy" in row["stage"]


def test_a_proxy_that_adds_little_is_no_finding() -> None:
    result = run_rules(_proxied_facts(proxy_ms=1.0, upstream_ms=40.0))
    assert not [f for f in result["findings"] if f["id"].startswith(("reverse-proxy", "proxy-"))]


def test_the_proxys_refusals_are_its_errors_not_the_backends() -> None:
    result = run_rules(_proxied_facts(proxy_ms=1.0, upstream_ms=4.0, refused=60))
    ids = [f["id"] for f in result["findings"]]
    assert "proxy-refused" in ids
    assert "endpoint-errors" not in ids  # the backend answered every request it was given


def test_without_a_proxys_log_the_rule_says_what_it_needs() -> None:
    result = run_rules(Facts())
    gap = next(g for g in result["not_measured"] if g["rule"] == "reverse-proxy")
    assert "upstream_response_time" in gap["needs"]


def test_from_the_run_directory_the_backends_floor_is_the_upstream_time(tmp_path: Path) -> None:
    """A queue in the proxy makes every request slow; the backend's own time (fast) is what the
    rules about the backend must see, or a proxy's delay reads as a slow dependency."""
    lines = [_line("/api/accounts/7", 200, f"0.{300 + i % 50:03d} 0.004") for i in range(200)]
    run = tmp_path / "run"
    run.mkdir()
    (run / "applog-endpoints.json").write_text(json.dumps(count_file(_log(tmp_path, lines))))
    result = diagnose(run, None)
    ids = [f["id"] for f in result["findings"]]
    assert "reverse-proxy" in ids
    assert "slow-dependency" not in ids
