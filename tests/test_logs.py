"""Several logs per environment (`logs = [{ path, kind }]`) and the JSON logs of common loggers read
without configuration: settings checked up front, each file read for what it holds, the counts of a
watch taken from all of them, and pino, bunyan, structlog and python-json-logger levels and request
lines counted from real-shaped lines."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from perfdash.collect.access_log import EndpointCounter
from perfdash.collect.log_levels import count_levels
from perfdash.collect.log_set import LogSet, labels, merge_endpoints
from perfdash.events import Bus, LogLinesRead, PhaseChanged
from perfdash.follow.observe import Observer
from perfdash.net import free_port
from perfdash.settings import LogSpec, SettingsError, load_settings

from .conftest import ROOT, DemoService
from .test_faults import local_env, start

# --------------------------------------------------------------------------- real-shaped lines

PINO = [  # pino 9, default serializers: numeric level, then time, pid, hostname
    '{"level":30,"time":1764890737000,"pid":4242,"hostname":"api-1","msg":"server listening on 4000"}',
    '{"level":50,"time":1764890737104,"pid":4242,"hostname":"api-1","err":{"type":"Error",'
    '"message":"connect ECONNREFUSED 127.0.0.1:5432","stack":"Error: connect ECONNREFUSED"},'
    '"msg":"connect ECONNREFUSED 127.0.0.1:5432"}',
    '{"level":40,"time":1764890737105,"pid":4242,"hostname":"api-1","msg":"slow query: 812 ms"}',
    '{"level":60,"time":1764890737106,"pid":4242,"hostname":"api-1","msg":"uncaught exception"}',
    '{"level":20,"time":1764890737107,"pid":4242,"hostname":"api-1","msg":"cache miss"}',
]
PINO_HTTP = [  # pino-http 10: the request under req, the response under res, responseTime in ms
    '{"level":30,"time":1764890737201,"pid":4242,"hostname":"api-1","req":{"id":1,"method":"GET",'
    '"url":"/api/products/17?fields=name","query":{"fields":"name"},"params":{},"headers":{"host":'
    '"127.0.0.1:4000","user-agent":"k6/0.54.0 (https://k6.io/)","accept":"*/*"},"remoteAddress":'
    '"127.0.0.1","remotePort":50412},"res":{"statusCode":200,"headers":{"content-type":'
    '"application/json; charset=utf-8","content-length":"85"}},"responseTime":12,'
    '"msg":"request completed"}',
    '{"level":30,"time":1764890737202,"pid":4242,"hostname":"api-1","req":{"id":2,"method":"GET",'
    '"url":"/api/products/18","query":{},"params":{},"headers":{"host":"127.0.0.1:4000"},'
    '"remoteAddress":"127.0.0.1","remotePort":50413},"res":{"statusCode":200,"headers":{}},'
    '"responseTime":9.4,"msg":"request completed"}',
    '{"level":50,"time":1764890737203,"pid":4242,"hostname":"api-1","req":{"id":3,"method":"POST",'
    '"url":"/api/orders","query":{},"params":{},"headers":{"host":"127.0.0.1:4000"},'
    '"remoteAddress":"127.0.0.1","remotePort":50414},"res":{"statusCode":500,"headers":{}},'
    '"err":{"type":"Error","message":"failed with status code 500","stack":"Error: failed"},'
    '"responseTime":48,"msg":"request errored"}',
]
BUNYAN = [  # bunyan 1.8: name, hostname and pid come before the level
    '{"name":"orders","hostname":"orders-7d9f8c6b5-x2kq9.cluster.internal","pid":17,"level":30,'
    '"msg":"order 41 stored","time":"2026-12-04T23:25:37.123Z","v":0}',
    '{"name":"orders","hostname":"orders-7d9f8c6b5-x2kq9.cluster.internal","pid":17,"level":50,'
    '"msg":"payment gateway timed out","time":"2026-12-04T23:25:37.124Z","v":0}',
    '{"name":"orders","hostname":"orders-7d9f8c6b5-x2kq9.cluster.internal","pid":17,"level":40,'
    '"msg":"retrying payment","time":"2026-12-04T23:25:37.125Z","v":0}',
]
STRUCTLOG = [  # structlog JSONRenderer: the event first, the level after it
    '{"event": "request finished", "path": "/api/users/42/cart", "status_code": 200, "duration": 7.5, '
    '"level": "info", "timestamp": "2026-12-04T23:25:37.123456Z"}',
    '{"event": "could not reach the inventory service after three attempts", "level": "error", '
    '"timestamp": "2026-12-04T23:25:37.223456Z"}',
    '{"event": "request finished", "path": "/api/users/43/cart", "status_code": 503, "duration": 30.1, '
    '"level": "warning", "timestamp": "2026-12-04T23:25:37.323456Z"}',
]
PYTHON_JSON_LOGGER = [  # python-json-logger with "%(asctime)s %(name)s %(levelname)s %(message)s"
    '{"asctime": "2026-12-04 23:25:37,123", "name": "app.views", "levelname": "INFO", '
    '"message": "rendered /products"}',
    '{"asctime": "2026-12-04 23:25:37,124", "name": "app.db", "levelname": "ERROR", '
    '"message": "deadlock detected"}',
    '{"asctime": "2026-12-04 23:25:37,125", "name": "app.db", "levelname": "WARNING", '
    '"message": "pool nearly exhausted"}',
    '{"asctime": "2026-12-04 23:25:37,126", "name": "app.db", "levelname": "CRITICAL", '
    '"message": "database gone"}',
]
NGINX = [  # nginx combined with $request_time at the end
    '127.0.0.1 - - [04/Dec/2026:23:25:37 +0000] "GET /api/products/7 HTTP/1.1" 200 85 "-" "k6/0.54.0" 0.012',
    '127.0.0.1 - - [04/Dec/2026:23:25:37 +0000] "GET /api/products/8 HTTP/1.1" 200 85 "-" "k6/0.54.0" 0.010',
    '127.0.0.1 - - [04/Dec/2026:23:25:37 +0000] "POST /api/orders HTTP/1.1" 502 0 "-" "k6/0.54.0" 0.300',
]


def block(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- levels


@pytest.mark.parametrize(("lines", "errors", "warnings"), [
    (PINO, 2, 1),  # 50 and 60 are errors, 40 a warning, 30 and 20 neither
    (PINO_HTTP, 1, 0),
    (BUNYAN, 1, 1),  # the level sits past the line's first 48 bytes
    (STRUCTLOG, 1, 1),  # after the event text
    (PYTHON_JSON_LOGGER, 2, 1),  # levelname: ERROR and CRITICAL, WARNING
])
def test_json_loggers_levels_are_counted(lines: list[str], errors: int, warnings: int) -> None:
    assert count_levels(block(lines)) == (errors, warnings)


def test_a_level_inside_a_message_or_a_larger_number_is_no_level() -> None:
    """The key must be the line's own: escaped inside a string it is text; 500 is no pino level."""
    lines = ['{"level":30,"time":1,"msg":"upstream said {\\"level\\":50}"}',
             '{"level":500,"time":1,"msg":"x"}',
             '{"level":30,"time":1,"msg":"x","levelname_hint":"ERROR"}',
             '{"level":"info","msg":"x"}']
    assert count_levels(block(lines)) == (0, 0)


def test_a_line_with_two_level_marks_counts_once_as_the_worse() -> None:
    """winston-style `"level":"error"` near the start is seen by both readers: still one error."""
    lines = ['{"level":"error","message":"x"}', '{"level":"warn","message":"y"}']
    assert count_levels(block(lines)) == (1, 1)


def test_plain_text_levels_are_unchanged() -> None:
    lines = ["2026-12-04 23:25:37 ERROR boom", "2026-12-04 23:25:37 WARNING hmm",
             "level=error msg=x", "2026-12-04 23:25:37 INFO ok"]
    assert count_levels(block(lines)) == (2, 1)


# --------------------------------------------------------------------------- request lines


def test_pino_http_request_lines_are_counted_per_route() -> None:
    """A pino app log: start-up lines first, then pino-http's req.url, res.statusCode, responseTime."""
    counter = EndpointCounter()
    counter.feed(block(PINO + PINO_HTTP))
    data = counter.to_json()
    assert (data["format"], data["request_lines"]) == ("json", 3)
    routes = data["routes"]
    assert routes["/api/products/{}"]["by_class"] == {"2xx": 2}
    assert routes["/api/products/{}"]["latency_avg_ms"] == pytest.approx((12 + 9.4) / 2)
    assert routes["/api/orders"]["by_class"] == {"5xx": 1}
    assert routes["/api/orders"]["latency_avg_ms"] == 48


def test_structlog_request_lines_with_status_code_and_duration() -> None:
    counter = EndpointCounter()
    counter.feed(block(STRUCTLOG))
    routes = counter.to_json()["routes"]
    cart = routes["/api/users/{}/cart"]
    assert routes == {"/api/users/{}/cart": {
        "count": 2, "by_class": {"2xx": 1, "5xx": 1}, "status_429": 0, "latency_n": 2,
        "latency_avg_ms": pytest.approx((7.5 + 30.1) / 2), "buckets": cart["buckets"]}}
    assert sum(cart["buckets"].values()) == 2


def test_a_duration_in_seconds_is_told_from_one_in_ms() -> None:
    """structlog-style `duration` says no unit: typically below 1 it is seconds (a request under a
    millisecond is rarer than one under a second), and the artifact says it was inferred."""
    seconds = EndpointCounter()
    seconds.feed(block([STRUCTLOG[0].replace('"duration": 7.5', f'"duration": {d}') for d in
                        ("0.0123", "0.0301", "0.0087")]))
    data = seconds.to_json()
    assert data["time_unit"] == "s"
    assert data["time_unit_source"].startswith(
        "inferred: the 'duration' field, typically 0.0123, is read as seconds")
    assert data["routes"]["/api/users/{}/cart"]["latency_avg_ms"] == pytest.approx(
        (12.3 + 30.1 + 8.7) / 3, abs=0.001)  # rounded to µs in the artifact
    ms = EndpointCounter()
    ms.feed(block(STRUCTLOG))
    assert (ms.to_json()["time_unit"], ms.to_json()["routes"]["/api/users/{}/cart"]["latency_avg_ms"]) == (
        "ms", pytest.approx((7.5 + 30.1) / 2))


def test_a_time_unit_setting_applies_to_a_json_log() -> None:
    counter = EndpointCounter(time_unit="s")
    counter.feed(block(['{"path":"/a","status":200,"responseTime":0.25}']))
    data = counter.to_json()
    assert data["routes"]["/a"]["latency_avg_ms"] == 250
    assert (data["time_unit"], data["time_unit_source"]) == ("s", "setting: the time unit of the "
                                                                  "'responseTime' field")


def test_a_configured_field_may_name_a_key_inside_an_object() -> None:
    line = '{"http":{"target":"/api/things/9","code":201},"took":3}'
    counter = EndpointCounter({"route": "http.target", "status": "http.code", "latency_ms": "took"})
    counter.feed(block([line]))
    assert counter.to_json()["routes"]["/api/things/{}"]["by_class"] == {"2xx": 1}


def test_a_latency_written_as_text_is_left_for_a_number() -> None:
    """`"duration":"12ms"` cannot be read by the number pattern: the counts stay, with no latency."""
    counter = EndpointCounter()
    counter.feed(block(['{"path":"/a","status":200,"duration":"12ms"}'] * 3))
    route = counter.to_json()["routes"]["/a"]
    assert (route["count"], route["latency_n"]) == (3, 0)


# --------------------------------------------------------------------------- settings


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "profiles.toml", tmp_path / "profiles.toml")
    return tmp_path


def _local_env(project: Path, lines: str) -> None:
    path = project / "profiles.toml"
    path.write_text(path.read_text().replace("[environments.local]\n", f"[environments.local]\n{lines}\n", 1))


def test_logs_name_app_and_access_logs(project: Path) -> None:
    _local_env(project, 'access_log_time_unit = "ms"\nworking_dir = "srv"\nlogs = [\n'
                        '  { path = "logs/access.log", kind = "access", format = "nginx" },\n'
                        '  { path = "logs/app.log", kind = "app" },\n'
                        '  { path = "logs/worker.log", kind = "app" },\n'
                        '  { path = "logs/admin-access.log", kind = "access" },\n]')
    env = load_settings(project).environment("local")
    srv = (project / "srv").resolve()
    assert [(log.path, log.kind, log.requests, log.format, log.time_unit) for log in env.followed_logs()] == [
        (srv / "logs/app.log", "app", False, None, "ms"),  # app logs first; an access log is named,
        (srv / "logs/worker.log", "app", False, None, "ms"),  # so they are not read for requests
        (srv / "logs/access.log", "access", False, "nginx", "ms"),  # the env's unit as a default
        (srv / "logs/admin-access.log", "access", False, None, "ms")]
    assert env.app_log == srv / "logs/app.log"
    assert [log["kind"] for log in env.redacted()["logs"]] == ["app", "app", "access", "access"]


def test_app_logs_alone_hold_the_request_lines(project: Path) -> None:
    _local_env(project, 'logs = [{ path = "a.log", kind = "app" }, { path = "b.log", kind = "app" }]')
    env = load_settings(project).environment("local")
    assert [log.counts_requests for log in env.followed_logs()] == [True, True]


def test_app_log_stays_a_shorthand_for_one_log_with_requests(project: Path) -> None:
    _local_env(project, 'app_log = "logs/app.log"\naccess_log_format = "gunicorn"')
    env = load_settings(project).environment("local")
    assert [(log.kind, log.requests, log.format) for log in env.followed_logs()] == [
        ("app", True, "gunicorn")]
    assert env.logs == ()


@pytest.mark.parametrize(("lines", "message"), [
    ('logs = [{ path = "a.log", kind = "nginx" }]',
     r"line \d+ \(environments.local.logs\): logs entry 1 \(a.log\) has the unknown kind 'nginx'; "
     r'add kind = "app" .* or kind = "access" .*\.$'),
    ('logs = [{ path = "a.log" }]', r"logs entry 1 \(a.log\) has no kind; add kind = \"app\""),
    ('logs = [{ path = "a.log", kind = "app" }, { kind = "access" }]',
     r"\(environments.local.logs\): logs entry 2 has no path; add path = \"logs/app.log\" "
     r"\(relative to working_dir\)\.$"),
    ('logs = [{ path = "a.log", kind = "app" }, { path = "./a.log", kind = "access" }]',
     r"logs entry 2 names ./a.log, as entry 1 does; keep one entry per file\.$"),
    ('logs = [{ path = "a.log", kind = "app", color = true }]',
     r"logs entry 1 has the unknown key 'color'; use only format, kind, path, time_unit\.$"),
    ('logs = [{ path = "a.log", kind = "access", format = "iis" }]',
     r"logs entry 1 \(a.log\) has the unknown format 'iis'; use one of 'combined', "),
    ('logs = [{ path = "a.log", kind = "access", time_unit = "msec" }]',
     r"has the unknown time_unit 'msec'; use one of 'us', 'ms', 's'\.$"),
    ('logs = [{ path = "a.log", kind = "app", format = "nginx" }]',
     r'is an app log with format set; drop format, or make it kind = "access"'),
    ('logs = [{ path = "a.log", kind = "access", format = "combined", time_unit = "ms" }]',
     r'has format = "combined", which has no request time, and a time_unit; drop time_unit'),
    ('logs = "a.log"',
     r"\(environments.local.logs\): expected a list of tables, got 'a.log'; write logs = \["),
    ("logs = []", r"expected a list of tables, got \[\]"),
    ('logs = ["a.log"]', r"logs entry 1 is 'a.log', not a table; write it as \{ path = "),
    ('app_log = "a.log"\nlogs = [{ path = "b.log", kind = "access" }]',
     r'\(environments.local.app_log\): both app_log and logs name log files; move app_log into logs '
     r'as \{ path = "a.log", kind = "app" \}\.$'),
])
def test_bad_logs_are_one_sentence_naming_the_key_and_the_fix(project: Path, lines: str,
                                                              message: str) -> None:
    _local_env(project, lines)
    with pytest.raises(SettingsError, match=message):
        load_settings(project)


def test_logs_as_an_array_of_tables(project: Path) -> None:
    path = project / "profiles.toml"
    path.write_text(path.read_text() + '\n[[environments.local.logs]]\npath = "app.log"\nkind = "app"\n'
                    '\n[[environments.local.logs]]\npath = "access.log"\nkind = "access"\n'
                    'format = "apache"\n')
    env = load_settings(project).environment("local")
    assert [(log.path.name, log.kind, log.format) for log in env.followed_logs()] == [
        ("app.log", "app", None), ("access.log", "access", "apache")]


# --------------------------------------------------------------------------- several files at once


def test_labels_tell_files_with_one_name_apart() -> None:
    assert labels([Path("/a/app.log"), Path("/b/app.log"), Path("/b/worker.log")]) == [
        "a/app.log", "b/app.log", "worker.log"]


def test_merged_endpoints_add_counts_and_histograms() -> None:
    one, two = EndpointCounter(), EndpointCounter(log_format="nginx")
    one.feed(block(PINO_HTTP))
    two.feed(block(NGINX))
    merged = merge_endpoints([(Path("app.log"), one.to_json()), (Path("access.log"), two.to_json())])
    products = merged["routes"]["/api/products/{}"]
    assert products["count"] == 4
    assert products["latency_n"] == 4
    assert products["latency_avg_ms"] == pytest.approx((12 + 9.4 + 12 + 10) / 4)
    assert sum(products["buckets"].values()) == 4
    assert merged["routes"]["/api/orders"]["by_class"] == {"5xx": 2}
    assert (merged["format"], merged["request_lines"]) == ("json+combined", 6)
    assert [log["format"] for log in merged["logs"]] == ["json", "combined"]


def _write(path: Path, lines: list[str]) -> None:
    with path.open("a") as f:
        f.write("\n".join(lines) + "\n")


def test_a_log_set_reads_each_file_for_what_it_holds(tmp_path: Path) -> None:
    """Two app logs and an access log, created after the tails started (so read from their start)."""
    bus = Bus()
    sub = bus.subscribe()
    specs = [LogSpec(tmp_path / "app.log", "app"), LogSpec(tmp_path / "worker.log", "app"),
             LogSpec(tmp_path / "access.log", "access", format="nginx")]
    logs = LogSet(bus, specs, batch_interval_s=0.05)
    logs.start()
    _write(tmp_path / "app.log", PINO + PINO_HTTP)
    _write(tmp_path / "worker.log", PYTHON_JSON_LOGGER)
    _write(tmp_path / "access.log", NGINX)
    time.sleep(0.3)
    logs.stop()
    shown = [line for e in sub.drain(0.1) if isinstance(e, LogLinesRead) for line in e.lines]
    record = logs.record()
    assert (record["lines"], record["errors"], record["warnings"]) == (12, 3 + 2, 1 + 1)
    assert record["unmeasured"] is None
    assert [(f["kind"], f["lines"], f["errors"]) for f in record["files"]] == [
        ("app", 8, 3), ("app", 4, 2), ("access", 3, 0)]
    # the pane follows the app logs, each line named by its file; the access log is not shown
    assert len(shown) == 12
    assert {line.split("] ")[0] for line in shown} == {"[app.log", "[worker.log"}
    assert not any("HTTP/1.1" in line for line in shown)
    # requests come from the access log only: the app log's pino-http lines are not counted twice
    endpoints = logs.endpoints_json()
    assert endpoints is not None
    assert endpoints["request_lines"] == 3
    assert endpoints["routes"]["/api/products/{}"]["latency_avg_ms"] == pytest.approx(11.0)


def test_access_logs_alone_leave_the_errors_not_measured(tmp_path: Path) -> None:
    logs = LogSet(Bus(), [LogSpec(tmp_path / "access.log", "access")], batch_interval_s=0.05)
    logs.start()
    logs.stop()
    assert "names only access logs" in str(logs.record()["unmeasured"])


WATCHED = """
[environments.watched]
description = "a backend with a JSON app log, a worker log and an nginx access log"
kind = "external"
base_url = "http://127.0.0.1:{port}"
logs = [
    {{ path = "{dir}/app.log", kind = "app" }},
    {{ path = "{dir}/worker.log", kind = "app" }},
    {{ path = "{dir}/access.log", kind = "access", format = "nginx" }},
]
"""


def test_a_watch_reads_every_log_of_the_environment(tmp_path: Path) -> None:
    """`perfdash watch` with three logs: errors from both app logs, requests from the access log, both
    named in summary.json and applog-endpoints.json (no k6 and no database needed)."""
    logs_dir = tmp_path / "logs"
    logs_dir.mkdir()
    config = tmp_path / "profiles.toml"
    config.write_text((ROOT / "profiles.toml").read_text()
                      + WATCHED.format(port=free_port(), dir=logs_dir))
    settings = load_settings(tmp_path, config)
    bus = Bus()
    loading = threading.Event()
    bus.listen(lambda e: loading.set() if isinstance(e, PhaseChanged) and e.phase == "load" else None)
    observer = Observer(settings, settings.environment("watched"), bus,
                        k6_api=f"127.0.0.1:{free_port()}", measure_host=False)

    def backend() -> None:
        assert loading.wait(20)
        # Files created once the three tails run are read from their first line.
        deadline = time.monotonic() + 20
        while sum(t.name == "applog-tail" for t in threading.enumerate()) < 3:
            assert time.monotonic() < deadline, "the watch never started its tails"
            time.sleep(0.02)
        _write(logs_dir / "app.log", PINO + PINO_HTTP)
        _write(logs_dir / "worker.log", BUNYAN)
        _write(logs_dir / "access.log", NGINX)
        time.sleep(1.5)
        observer.request_stop()

    writer = threading.Thread(target=backend)
    writer.start()
    outcome = observer.run(seconds=30)
    writer.join()
    summary = outcome.summary
    app_log = summary["app_log"]
    assert (app_log["lines"], app_log["errors"], app_log["warnings"]) == (8 + 3, 3 + 1, 1 + 1)
    assert [Path(f["path"]).name for f in app_log["files"]] == ["app.log", "worker.log", "access.log"]
    check = next(c for c in summary["checks"] if c["name"] == "Backend log errors")
    assert "4 ERROR and 2 WARN lines of 11 in app.log and worker.log" in check["detail"]
    endpoints = json.loads((outcome.paths.root / "applog-endpoints.json").read_text())
    assert endpoints["format"] == "combined"
    assert endpoints["request_lines"] == 3
    assert endpoints["routes"]["/api/orders"]["by_class"] == {"5xx": 1}


def test_the_log_pane_colours_json_levels_behind_a_file_name() -> None:
    from perfdash.ui.live.log_view import level_style

    assert level_style("[app.log] " + PINO[1]) == "bold red"
    assert level_style("[app.log] " + PINO[2]) == "yellow"
    assert level_style("[worker.log] " + STRUCTLOG[1]) == "bold red"
    assert level_style(PYTHON_JSON_LOGGER[2]) == "yellow"
    assert level_style("[app.log] " + PINO[0]) == ""


RUN_CONFIG = """
[profiles.tiny]
description = "k6 only, a few seconds"
[profiles.tiny.k6]
script = "{script}"
stages = [{{ duration = "5s", target = 2 }}]

[environments.local]
kind = "external"
logs = [
    {{ path = "{demo_log}", kind = "app" }},
    {{ path = "{dir}/worker.log", kind = "app" }},
    {{ path = "{dir}/access.log", kind = "access", format = "nginx" }},
]
"""


@pytest.mark.slow
def test_a_run_reads_every_log_of_the_environment(demo_service: DemoService, tmp_path: Path) -> None:
    """A real headless run against the demo backend: its own log and a worker's pino log both counted
    for errors, requests taken from the access log alone (the demo log's request lines are not)."""
    logs_dir = tmp_path / "logs"
    logs_dir.mkdir()
    config = tmp_path / "profiles.toml"
    config.write_text(RUN_CONFIG.format(script=ROOT / "k6" / "demo-api.js",
                                        demo_log=demo_service.log_file, dir=logs_dir))
    results = tmp_path / "results"
    live = start(["run", "--profile", "tiny", "--env", "local", "--config", str(config)], results,
                 local_env(demo_service))
    run_dir = live.run_dir()
    done = threading.Event()

    def worker() -> None:
        # The files appear once the load runs (so they are read from their first line) and grow.
        while not (run_dir / "timeline.csv").exists() and not done.is_set():
            time.sleep(0.05)
        time.sleep(0.5)
        for i in range(20):
            _write(logs_dir / "worker.log", [PINO[1], PINO[2]])
            _write(logs_dir / "access.log", [NGINX[0].replace("/api/products/7", f"/from-access/{i}")])
            time.sleep(0.1)

    writer = threading.Thread(target=worker)
    writer.start()
    try:
        code, out = live.finish(timeout=180)
    finally:
        done.set()
        writer.join()
    summary = json.loads((run_dir / "summary.json").read_text())
    app_log = summary["app_log"]
    files = {Path(f["path"]).name: f for f in app_log["files"]}
    assert files["worker.log"]["errors"] == 20, (out[-3000:], files)
    assert files["worker.log"]["warnings"] == 20
    assert files["app.log"]["lines"] > 0  # the demo backend logged its requests
    assert app_log["errors"] == sum(f["errors"] for f in files.values() if f["kind"] == "app")
    assert files["access.log"]["lines"] == 20
    check = next(c for c in summary["checks"] if c["id"] == "app_log.errors")
    assert check["detail"].startswith(f"{app_log['errors']} ERROR and {app_log['warnings']} WARN lines of "
                                      f"{app_log['lines']} ")
    assert "in app.log and worker.log" in check["detail"]
    endpoints = json.loads((run_dir / "applog-endpoints.json").read_text())
    assert set(endpoints["routes"]) == {"/from-access/{}"}
    assert endpoints["request_lines"] == 20
    # preflight looked at every file: the two the run creates did not exist yet
    assert "[warn] app log readable (worker.log)" in out, out[:3000]
    assert "[warn] access log readable (access.log)" in out
    assert code in (0, 1), out[-3000:]


def test_an_app_log_never_created_is_named_beside_the_counted_ones(tmp_path: Path) -> None:
    """Errors counted from the logs that were there; the check says which one was not."""
    logs = LogSet(Bus(), [LogSpec(tmp_path / "app.log", "app"), LogSpec(tmp_path / "worker.log", "app")],
                  batch_interval_s=0.05)
    logs.start()
    _write(tmp_path / "app.log", PINO)
    logs.stop()
    from perfdash.analyze.summary import _app_log_check

    check = _app_log_check(logs.record())
    assert check.status == "warn"
    assert check.detail == (f"2 ERROR and 1 WARN lines of 5 in app.log (worker.log not measured: the app "
                            f"log {tmp_path / 'worker.log'} was never created during the run)")
