"""A run that measured nothing is never a pass: an empty k6 plan, a backend that accepts connections
and never answers, and an app log that is missing, a FIFO or a directory.

Real runs through the `perfdash` entry point against the session's demo backend (or a silent
server on loopback), with short k6-only profiles.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from perfdash.collect.applog import AppLogTail
from perfdash.events import Bus, ProblemDetected

from .conftest import ROOT, DemoService
from .test_faults import local_env, run_dir_of, start

pytestmark = pytest.mark.e2e

CONFIG = """
[profiles.tiny]
description = "k6 only, a few seconds"
[profiles.tiny.k6]
script = "%(script)s"
stages = [%(stages)s]

[environments.local]
kind = "external"
%(app_log)s
"""


def config(tmp_path: Path, stages: str, app_log: Path | None = None) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(CONFIG % {"script": ROOT / "k6" / "demo-api.js", "stages": stages,
                              "app_log": f'app_log = "{app_log}"' if app_log else ""})
    return path


def summary_of(results: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((run_dir_of(results) / "summary.json").read_text())
    return data


def checks_by_id(summary: dict[str, object]) -> dict[str, dict[str, object]]:
    checks = summary["checks"]
    assert isinstance(checks, list)
    return {str(c["id"]): c for c in checks}


def test_an_empty_k6_plan_is_incomplete_not_pass(demo_service: DemoService, tmp_path: Path) -> None:
    results = tmp_path / "results"
    code, out = start(["run", "--profile", "tiny", "--env", "local", "--config",
                       str(config(tmp_path, '{ duration = "0s", target = 1 }'))], results,
                      local_env(demo_service)).finish()
    assert code == 3, out
    summary = summary_of(results)
    assert summary["status"] == "incomplete"
    requests = checks_by_id(summary)["k6.requests"]
    assert requests["status"] == "not measured"
    assert "k6" in str(requests["detail"])
    assert "no check ran" in out or "not measured" in out


class _HealthOnly(BaseHTTPRequestHandler):
    """Answers /health, and holds every other request open without a word."""

    release = threading.Event()

    def do_GET(self) -> None:
        if self.path.startswith("/health"):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        self.release.wait(120)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def silent_backend() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HealthOnly)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _HealthOnly.release.set()
        server.shutdown()
        server.server_close()


def test_a_backend_that_never_answers_is_incomplete_not_pass(silent_backend: str,
                                                               tmp_path: Path) -> None:
    results = tmp_path / "results"
    env = {"PERF_BASE_URL": silent_backend, "PERF_API_TOKEN": "t0ken-for-the-silent-one"}
    code, out = start(["run", "--profile", "tiny", "--env", "local", "--config",
                       str(config(tmp_path, '{ duration = "4s", target = 2 }'))], results,
                      env).finish(timeout=180)
    assert code == 3, out
    summary = summary_of(results)
    assert summary["status"] == "incomplete"
    assert checks_by_id(summary)["k6.requests"]["status"] == "not measured"
    # the health route answered every poll: that check may pass, no measure of the load may
    assert all(c["status"] != "pass" or c["id"] in ("k6.exit", "host.memory", "host.cpu",
                                                    "health.polls")
               for c in checks_by_id(summary).values()), summary["checks"]
    assert checks_by_id(summary)["health.polls"]["status"] == "pass"


@pytest.mark.parametrize("kind", ["missing", "fifo", "directory"])
def test_an_app_log_that_cannot_be_followed_is_not_measured(
        demo_service: DemoService, tmp_path: Path, kind: str) -> None:
    log = tmp_path / "logs" / "app.log"
    log.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(log)
    elif kind == "directory":
        log.mkdir()
    results = tmp_path / "results"
    code, out = start(["run", "--profile", "tiny", "--env", "local", "--config",
                       str(config(tmp_path, '{ duration = "3s", target = 1 }', log))], results,
                      local_env(demo_service)).finish(timeout=120)  # a FIFO must not hang the run
    assert "[warn] app log readable" in out, out
    summary = summary_of(results)
    app_log = checks_by_id(summary)["app_log.errors"]
    assert app_log["status"] == "not measured", app_log
    expected = {"missing": "never created", "fifo": "a FIFO", "directory": "a directory"}[kind]
    assert expected in str(app_log["detail"])
    if kind != "missing":  # the problem the tail announced live is in the summary too
        problems = summary["problems"]
        assert isinstance(problems, list)
        assert any(expected in p["what"] for p in problems), problems
    assert summary["status"] == "incomplete"
    assert code == 3, out


def test_the_tail_never_blocks_on_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "app.log"
    os.mkfifo(fifo)
    bus = Bus()
    sub = bus.subscribe()
    tail = AppLogTail(bus, fifo)
    done = threading.Event()

    def run() -> None:
        tail.start()
        tail.stop()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(15), "AppLogTail blocked on a FIFO"
    assert tail.unmeasured() == f"the app log {fifo} is a FIFO, not a log file"
    assert any(isinstance(e, ProblemDetected) and "FIFO" in e.what for e in sub.drain())
