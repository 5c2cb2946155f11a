"""Endpoints joined across k6, Artillery and the app log, on recorded artifacts.

tests/data/endpoints/foreign-run: a real run of tests/foreign_project (k6 `flaky.js` with name tags
and thresholds on the tagged submetrics, Artillery `browse.yml -e chaos`, the service's JSON-lines
log of that run). demo-run: the demo's smoke run (plain log lines, `url (name)` Artillery keys).
gunicorn-run: a real gunicorn access log whose lines end with each request's time in µs, decimal
seconds and ms (its README.md says how it was made).
"""

from __future__ import annotations

import json
import re
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
from perfdash.collect.access_log import EndpointCounter, count_file
from perfdash.collect.request_time_units import FORMAT_UNITS, TIME_UNITS, UNIT_SAMPLE, unit_suspect
from perfdash.collect.route_names import normalise_route
from perfdash.settings import ACCESS_LOG_FORMATS, ACCESS_LOG_TIME_UNITS

DATA = Path(__file__).parent / "data" / "endpoints"
FOREIGN, DEMO, GUNICORN = DATA / "foreign-run", DATA / "demo-run", DATA / "gunicorn-run"


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


# ----------------------------------------------------------------------------- request-time units

GUNICORN_LINE = (b'127.0.0.1 - - [04/Dec/2026:10:00:00 +0000] "GET /api/transfers HTTP/1.1" 200 512 '
                 b'"-" "k6/1.1.0" %s\n')
_THREE_TIMES = re.compile(rb" (\d+) (\d+\.\d+) (\d+)$", re.MULTILINE)


def gunicorn_log(tmp_path: Path, field: str) -> Path:
    """The recorded gunicorn log with one of its three times kept: `D` (µs), `L` (s) or `M` (ms)."""
    group = {"D": 1, "L": 2, "M": 3}[field]
    data = _THREE_TIMES.sub(lambda m: b" " + m.group(group), (GUNICORN / "access.log").read_bytes())
    path = tmp_path / f"access-{field}.log"
    path.write_bytes(data)
    return path


def avg_ms(data: dict, route: str) -> float:
    return float(data["routes"][route]["latency_avg_ms"])


def test_gunicorn_integer_milliseconds_are_not_read_as_seconds() -> None:
    """`%(M)s` 31 is 31 ms; it was once scaled by 1000 as if it were seconds."""
    c = EndpointCounter()
    c.feed(GUNICORN_LINE % b"31")
    got = c.to_json()
    assert avg_ms(got, "/api/transfers") == 31.0
    assert got["time_unit"] == "ms"
    assert got["time_unit_source"].startswith("inferred: integer request times")


def test_the_recorded_gunicorn_log_in_each_of_its_units(tmp_path: Path) -> None:
    """The same 400 requests (transfers sleep 30 ms, accounts 5 ms) read from %(M)s, %(L)s and,
    with the unit set, %(D)s agree to within the rounding of %(M)s."""
    ms = count_file(gunicorn_log(tmp_path, "M"))
    seconds = count_file(gunicorn_log(tmp_path, "L"))
    micro = count_file(gunicorn_log(tmp_path, "D"), time_unit="us")
    assert (ms["time_unit"], seconds["time_unit"], micro["time_unit"]) == ("ms", "s", "us")
    assert seconds["time_unit_source"] == "inferred: request times with a fraction are seconds"
    assert micro["time_unit_source"] == "setting: access_log_time_unit"
    for got in (ms, seconds, micro):
        assert got["routes"]["/api/transfers"]["count"] == 200
        assert 30 <= avg_ms(got, "/api/transfers") < 32, got
        assert 5 <= avg_ms(got, "/api/accounts/{}") < 7, got
    assert avg_ms(micro, "/api/transfers") == pytest.approx(avg_ms(seconds, "/api/transfers"), abs=0.01)
    assert avg_ms(ms, "/api/transfers") == pytest.approx(avg_ms(seconds, "/api/transfers"), abs=1.0)


@pytest.mark.parametrize(("log_format", "field", "unit"), [
    ("gunicorn", "M", "ms"), ("gunicorn", "L", "ms"), ("nginx", "L", "s"), ("apache", "D", "us"),
])
def test_a_preset_names_the_unit(tmp_path: Path, log_format: str, field: str, unit: str) -> None:
    """gunicorn's preset reads integers as %(M)s and a time with a fraction as %(L)s seconds."""
    got = count_file(gunicorn_log(tmp_path, field), log_format=log_format)
    assert got["time_unit"] == unit
    assert got["time_unit_source"] == f"setting: access_log_format = {log_format}"
    assert 30 <= avg_ms(got, "/api/transfers") < 32, got


def test_combined_and_common_presets_read_no_time(tmp_path: Path) -> None:
    got = count_file(gunicorn_log(tmp_path, "M"), log_format="combined")
    assert got["routes"]["/api/transfers"]["count"] == 200
    assert got["routes"]["/api/transfers"]["latency_n"] == 0
    assert got["time_unit"] is None
    assert "has no request time" in got["time_unit_source"]


def test_large_integers_are_inferred_to_be_microseconds() -> None:
    c = EndpointCounter()
    c.feed(b"".join(GUNICORN_LINE % str(250_000 + i).encode() for i in range(10)))
    got = c.to_json()
    assert got["time_unit"] == "us"
    assert "typically 250,00" in got["time_unit_source"]
    assert 250 <= avg_ms(got, "/api/transfers") < 251


def test_the_unit_is_inferred_from_a_sample_across_blocks_and_nothing_is_lost() -> None:
    """The first lines wait for the sample; once it is full the unit holds for the rest of the run,
    and every time (before and after) is counted in it."""
    c = EndpointCounter()
    for i in range(UNIT_SAMPLE + 50):
        c.feed(GUNICORN_LINE % (b"20" if i % 2 else b"40"))
        if i == UNIT_SAMPLE - 2:
            assert c.time_unit is None  # still sampling
    assert c.time_unit == "ms"  # settled by the sample, before the end of the run
    got = c.to_json()
    assert got["routes"]["/api/transfers"]["latency_n"] == UNIT_SAMPLE + 50
    assert avg_ms(got, "/api/transfers") == 30.0


def test_integers_are_never_read_as_seconds() -> None:
    c = EndpointCounter()
    c.feed((GUNICORN_LINE % b"0") * 5 + GUNICORN_LINE % b"1")
    got = c.to_json()
    assert got["time_unit"] == "ms"
    assert 'set access_log_time_unit = "s"' in got["time_unit_source"]


def test_a_time_that_names_ms_is_read_as_ms_whatever_the_setting() -> None:
    c = EndpointCounter(log_format="nginx")
    c.feed(GUNICORN_LINE % b"12.5ms" + GUNICORN_LINE % b"12.5 ms")
    got = c.to_json()
    assert got["routes"]["/api/transfers"]["latency_n"] == 2
    assert avg_ms(got, "/api/transfers") == 12.5


def test_json_and_plain_logs_say_their_unit() -> None:
    c = EndpointCounter()
    c.feed(b'{"route":"/a","status":200,"ms":3}\n')
    assert (c.to_json()["time_unit"], c.to_json()["time_unit_source"][:5]) == ("ms", "json:")
    assert count_file(DEMO / "app.log")["time_unit"] == "ms"


def test_unknown_presets_and_units_are_refused() -> None:
    with pytest.raises(ValueError, match="use one of"):
        EndpointCounter(log_format="iis")
    with pytest.raises(ValueError, match="use one of us, ms, s"):
        EndpointCounter(time_unit="sec")


def test_settings_offer_exactly_what_the_counter_reads() -> None:
    assert set(ACCESS_LOG_FORMATS) == set(FORMAT_UNITS)
    assert set(ACCESS_LOG_TIME_UNITS) == set(TIME_UNITS)


def test_unit_suspect_names_the_factor_and_the_unit_to_set(tmp_path: Path) -> None:
    client = json.loads((GUNICORN / "k6-summary.json").read_text())["metrics"]["http_req_duration"]["avg"]
    # %(D)s microseconds inferred as ms: 1000x the clients' latency
    micro = count_file(gunicorn_log(tmp_path, "D"))
    server = (avg_ms(micro, "/api/transfers") + avg_ms(micro, "/api/accounts/{}")) / 2
    warning = unit_suspect(server, client, micro["time_unit"])
    assert warning is not None
    assert warning.startswith("the access log's request time looks 1000x too large")
    assert warning.endswith('set access_log_time_unit = "us".')
    # integer ms read as seconds (the old reading) with no unit known
    assert 'set access_log_time_unit = "ms"' in str(unit_suspect(30_000.0, 31.0))
    assert "1000000x too large" in str(unit_suspect(31_000_000.0, 31.0))
    assert unit_suspect(30.0, 31.0) is None
    assert unit_suspect(300.0, 31.0) is None  # 9.7x: a slow server, not a unit
    assert unit_suspect(None, 31.0) is None
    assert unit_suspect(31.0, 0.0) is None
    assert "check access_log_time_unit" in str(unit_suspect(500.0, 31.0))  # 16x: no clean factor
    assert "check access_log_time_unit" in str(unit_suspect(31_000.0, 31.0, "us"))  # nothing smaller


def test_429s_are_counted_apart_per_route() -> None:
    c = EndpointCounter()
    line = '127.0.0.1 - - [04/Dec/2026:10:00:00 +0000] "GET /api/search?q=a HTTP/1.1" {} 12 "-" "k6" 0.004\n'
    c.feed("".join(line.format(s) for s in (200, 429, 429, 503)).encode())
    route = c.to_json()["routes"]["/api/search"]
    assert route["status_429"] == 2
    assert route["by_class"] == {"2xx": 1, "4xx": 2, "5xx": 1}
