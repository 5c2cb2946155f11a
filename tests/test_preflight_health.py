"""Preflight's "backend reachable": a health route that answers 5xx once (a pool reconnecting
after an idle spell) is asked again before the run is refused; one that keeps answering 5xx
refuses it, saying how often it was asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from perfdash.run import preflight
from perfdash.settings import Environment


class _Health(BaseHTTPRequestHandler):
    answers: list[int] = []  # noqa: RUF012 - set per server below

    def do_GET(self) -> None:
        status = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health() -> Iterator[tuple[str, type[_Health]]]:
    handler = type("Health", (_Health,), {"answers": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _env() -> Environment:
    return Environment("local", "", "external", None, None, None, None, False, "/health")


def test_one_503_is_asked_again(health: tuple[str, type[_Health]],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "HEALTH_RETRY_S", 0.05)
    url, handler = health
    handler.answers[:] = [503, 200]
    result = preflight.check_backend(_env(), url)
    assert result.status == "pass", result.detail
    assert result.detail.endswith("answered 200")


def test_a_backend_that_stays_unhealthy_is_refused(health: tuple[str, type[_Health]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "HEALTH_RETRY_S", 0.05)
    url, handler = health
    handler.answers[:] = [503]
    result = preflight.check_backend(_env(), url)
    assert result.status == "fail"
    assert result.detail == f"{url}/health answered 503 (3 times, 0.05 s apart)"
    assert "unhealthy" in result.fix
