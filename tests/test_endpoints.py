"""Endpoints joined across k6, Artillery and the app log, on recorded artifacts.

tests/data/endpoints/foreign-run: a real run of tests/foreign_project (k6 `flaky.js` with name tags
and thresholds on the tagged submetrics, Artillery `browse.yml -e chaos`, the service's JSON-lines
log of that run). demo-run: the demo's smoke run (plain log lines, `url (name)` Artillery keys).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from perfdash.analyze.endpoints import (
    endpoints_markdown,
    endpoints_table,
    log_sides,
    read_endpoints,
    script_names,
)
from perfdash.collect.access_log import EndpointCounter, count_file, normalise_route

DATA = Path(__file__).parent / "data" / "endpoints"
FOREIGN, DEMO = DATA / "foreign-run", DATA / "demo-run"


def _row(endpoints: dict, key: str) -> dict:
    return next(r for r in endpoints["rows"] if r["endpoint"] == key)


@pytest.mark.parametrize(("raw", "key"), [
    ("/api/catalog/123?q=1", "/api/catalog/{}"),
    ("/api/catalog/{{ productId }}", "/api/catalog/{}"),
    ("/api/catalog/:id", "/api/catalog/{}"),
    ("http://127.0.0.1:3000/api/flaky?rate={{ flakyRate }}", "/api/flaky"),
    ("${BASE_URL}/api/catalog/${id}", "{}/api/catalog/{}"),
    ("/u/550e8400-e29b-41d4-a716-446655440000/", "/u/{}"),
])
def test_routes_normalise_to_one_key(raw: str, key: str) -> None:
    assert normalise_route(raw) == key


def test_the_flaky_endpoint_is_joined_across_the_three_sources(tmp_path: Path) -> None:
    for name in ("k6-rec.json", "artillery-rec.json"):
        (tmp_path / name).write_bytes((FOREIGN / name).read_bytes())
    (tmp_path / "applog-endpoints.json").write_text(json.dumps(count_file(FOREIGN / "shopfront.jsonl")))
    got = read_endpoints(tmp_path, "rec", k6_script=FOREIGN / "flaky.js")
    flaky = _row(got, "/api/flaky")["sources"]
    assert set(flaky) == {"k6", "artillery", "log"}
    assert flaky["k6"]["requests"] == 98 and flaky["k6"]["errors"] == 8  # noqa: PT018
    assert flaky["artillery"]["errors"] == 7  # ECONNRESET under metrics-by-endpoint
    # The server logged every reset (status 0): more than the clients saw, as clients retry a
    # GET whose kept-alive connection was dropped.
    assert flaky["log"]["errors"] == 46
    assert flaky["log"]["status_5xx"] == 0
    search = _row(got, "/api/catalog/search")["sources"]
    assert set(search) == {"k6", "artillery", "log"}
    assert search["k6"]["p95_ms"]
    assert search["log"]["p95_ms"]
    assert set(_row(got, "/api/catalog/{}")["sources"]) == {"artillery", "log"}
    assert _row(got, "group:product page")["kind"] == "group"
    md = "\n".join(endpoints_markdown(got))
    assert "## Endpoints" in md and "/api/flaky" in md  # noqa: PT018


def test_the_demo_joins_k6_names_through_artillery_names(tmp_path: Path) -> None:
    for name in ("k6-smoke.json", "artillery-smoke.json"):
        (tmp_path / name).write_bytes((DEMO / name).read_bytes())
    (tmp_path / "applog-endpoints.json").write_text(json.dumps(count_file(DEMO / "app.log")))
    got = read_endpoints(tmp_path, "smoke")
    products = _row(got, "/api/products")["sources"]
    # k6 tags it `products`, Artillery keys it `/api/products (products)`, the log has the path
    assert set(products) == {"k6", "artillery", "log"}
    assert products["k6"]["names"] == ["products"]
    assert set(_row(got, "/api/products/{}")["sources"]) == {"artillery", "log"}
    assert _row(got, "socket.io")["sources"]["artillery"]["requests"] > 0
    assert got["log_format"] == "plain"


def test_script_names_map_k6_tags_to_urls() -> None:
    names = script_names((Path(__file__).parent / "foreign_project/load/k6/shop-flows.js").read_text())
    assert normalise_route(names["search"]) == "/api/catalog/search"
    assert normalise_route(names["product"]) == "/api/catalog/{}"
    assert names["order"] == "/api/orders"


def test_log_formats_and_configured_fields() -> None:
    c = EndpointCounter({"route": "path", "status": "code", "latency_ms": "took"})
    c.feed(b'{"msg":"up"}\n{"path":"/a/7","code":503,"took":12.5}\n{"path":"/a/8?x","code":200,"took":3}\n')
    routes = c.to_json()["routes"]
    assert routes["/a/{}"]["by_class"] == {"2xx": 1, "5xx": 1}
    combined = EndpointCounter()
    combined.feed(b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET /x/1 HTTP/1.1" 502 12 "-" "ua" 0.250\n')
    side = log_sides(combined.to_json())["/x/{}"]
    assert side.status_5xx == 1 and side.p50 is not None and 240 <= side.p50 <= 260  # noqa: PT018
    nothing = EndpointCounter()
    nothing.feed(b"just words\n" * 300)
    assert nothing.gave_up and nothing.to_json()["routes"] == {}  # noqa: PT018


def test_counting_a_flood_is_cheap() -> None:
    """20k JSON lines a second arrive as 5,000-line batches: the per-line cost stays small."""
    line = (b'{"ts":"2026-11-30T05:00:00.000Z","lvl":"info","msg":"GET /api/catalog/1",'
            b'"route":"/api/catalog/:id","method":"GET","status":200,"ms":3.2}\n')
    block = line * 5000
    c = EndpointCounter()
    c.feed(block)
    start = time.perf_counter()
    for _ in range(10):
        c.feed(block)
    per_line_us = (time.perf_counter() - start) / 50_000 * 1e6
    assert c.request_lines == 55_000
    assert per_line_us < 20, per_line_us  # about 2.5 µs measured; generous for a loaded CI box


def test_rich_table_renders() -> None:
    from rich.console import Console

    got = {"rows": [{"endpoint": "/a", "kind": "http", "sources": {
        "k6": {"requests": 3, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "errors": 0,
               "status_5xx": None}}}]}
    console = Console(width=120, record=True)
    console.print(endpoints_table(got))
    assert "/a" in console.export_text()
