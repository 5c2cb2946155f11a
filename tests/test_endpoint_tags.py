"""k6 rows named by whatever tag the script uses for its routes (`route`, `endpoint`, `name`…), joined
with the access log by route: one row per endpoint with counts and latencies from each source."""

from __future__ import annotations

from pathlib import Path

from perfdash.analyze.endpoints import join, log_sides, script_names
from perfdash.collect.access_log import EndpointCounter
from perfdash.collect.route_names import normalise_route
from perfdash.tools.k6.report import K6Summary

LAB_MIX = Path(__file__).parent / "lab" / "loadtests" / "k6" / "lab-mix.js"


def _summary(metrics: dict[str, dict[str, float]]) -> K6Summary:
    return K6Summary(metrics=metrics, root_group={})


def test_a_route_tag_with_a_threshold_is_an_endpoint_and_k6s_own_tags_are_not() -> None:
    rows = _summary({
        "http_req_duration{route:order}": {"med": 3.0, "p(95)": 9.0},
        "http_req_duration{expected_response:true}": {"med": 2.0},
        "http_req_duration{status:200}": {"med": 2.0},
        "http_req_duration{scenario:orders}": {"med": 2.0},
    }).endpoints()
    assert [(r.tag, r.name) for r in rows] == [("route", "order")]
    assert rows[0].p95 == 9.0


def test_the_scripts_tags_lead_to_the_calls_url() -> None:
    names = script_names(LAB_MIX.read_text())
    assert normalise_route(names["order"]) == "/api/orders/{}"
    assert normalise_route(names["account"]) == "/api/accounts/{}"
    assert normalise_route(names["transfer"]) == "/api/transfers"


def test_a_route_tagged_k6_row_joins_the_access_log_row() -> None:
    k6 = _summary({"http_req_duration{route:order}": {"med": 3.0, "p(95)": 9.0, "p(99)": 12.0},
                   "http_reqs{route:order}": {"count": 240}}).endpoints()
    counter = EndpointCounter()
    counter.feed(b'127.0.0.1 - - [04/Dec/2026:20:31:02 +0000] "GET /api/orders/17 HTTP/1.1" 200 1532 '
                 b'"-" "k6/1.1.0" 0.002\n' * 240)
    rows = join(k6, [], log_sides(counter.to_json()), script_names(LAB_MIX.read_text()))
    assert [r["endpoint"] for r in rows] == ["/api/orders/{}"]
    sources = rows[0]["sources"]
    assert sources["k6"]["requests"] == 240
    assert sources["k6"]["p95_ms"] == 9.0
    assert sources["log"]["requests"] == 240


def test_one_bare_name_under_two_tags_is_one_row_labelled_by_its_tag() -> None:
    """Counts thresholded under `name`, latencies under `endpoint`: one endpoint, not two rows."""
    k6 = _summary({"http_req_duration{endpoint:statement}": {"med": 40.0, "p(95)": 90.0},
                   "http_req_failed{name:statement}": {"passes": 2, "fails": 98}}).endpoints()
    rows = join(k6, [], {})
    assert len(rows) == 1
    assert rows[0]["endpoint"] == "endpoint:statement"
    side = rows[0]["sources"]["k6"]
    assert side["requests"] == 100
    assert side["errors"] == 2
    assert side["p95_ms"] == 90.0
