"""The HTTP side of `run --serve`, in-process on loopback: the bearer token on every route (401
that says nothing about the run), the files it serves and refuses, the event stream's catch-up and
end, and a half-written last line never sent. The two-process tests are in test_attach_e2e.py."""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfdash.events import PhaseChanged, RunStarted, to_record
from perfdash.net import free_port
from perfdash.secret import Secret
from perfdash.serve.server import EventServer
from perfdash.serve.token import ServeError, parse_bind, serve_token

TOKEN = "t0ken-" + "x" * 30


def _get(url: str, token: str | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[EventServer, Path, str]]:
    run_dir = tmp_path / "20260101T000000Z"
    run_dir.mkdir()
    lines = [json.dumps(to_record(RunStarted(run_dir.name, str(run_dir), "smoke", "demo", 5))),
             json.dumps(to_record(PhaseChanged("load")))]
    (run_dir / "events.ndjson").write_text("\n".join(lines) + "\n" + '{"type": "Phase')
    (run_dir / "summary.json").write_text('{"run_id": "x"}')
    (run_dir / "perfdash.log").write_text("log\n")
    (run_dir / "perfdash.lock").write_text("1\n")
    bind = parse_bind(f"127.0.0.1:{free_port()}")
    server = EventServer(bind, Secret(TOKEN), run_dir)
    server.start()
    try:
        yield server, run_dir, bind.url
    finally:
        server.close(grace_s=0.5)


def test_bind_forms_and_loopback() -> None:
    assert parse_bind("8765").host == "127.0.0.1"
    assert parse_bind(":8765").loopback
    assert parse_bind("localhost:1").loopback
    assert parse_bind("[::1]:8765").url == "http://[::1]:8765"
    assert not parse_bind("0.0.0.0:8765").loopback
    with pytest.raises(ServeError, match="HOST:PORT"):
        parse_bind("somewhere")
    with pytest.raises(ServeError):
        parse_bind("127.0.0.1:70000")


def test_the_token_comes_from_the_environment_or_is_generated(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.delenv("PERFDASH_SERVE_TOKEN", raising=False)
    env_file = tmp_path / ".env.performance"
    generated = serve_token(env_file)
    assert generated.generated
    assert len(generated.secret.reveal()) >= 40
    assert serve_token(env_file).secret != generated.secret  # a new one each run
    env_file.write_text(f"PERFDASH_SERVE_TOKEN={TOKEN}\n")
    from_file = serve_token(env_file)
    assert not from_file.generated
    assert from_file.secret.reveal() == TOKEN
    assert TOKEN not in repr(from_file) + str(from_file.secret)
    monkeypatch.setenv("PERFDASH_SERVE_TOKEN", "short")
    with pytest.raises(ServeError, match="shorter than"):
        serve_token(env_file)


def test_every_route_needs_the_token_and_a_refusal_says_nothing(
        served: tuple[EventServer, Path, str]) -> None:
    server, run_dir, url = served
    for path in ("/events", "/files", "/files/summary.json", "/anything"):
        for token in (None, "wrong", TOKEN[:-1], ""):
            status, body = _get(url + path, token)
            assert status == 401, path
            assert run_dir.name not in body.decode()
            assert b"smoke" not in body
    assert server.refused == 16
    assert server.clients_served == 0


def test_only_result_files_are_served(served: tuple[EventServer, Path, str]) -> None:
    _server, _run_dir, url = served
    status, body = _get(url + "/files", TOKEN)
    assert status == 200
    assert sorted(json.loads(body)) == ["summary.json"]  # not the log, the lock or the stream
    assert _get(url + "/files/summary.json", TOKEN) == (200, b'{"run_id": "x"}')
    for name in ("perfdash.log", "events.ndjson", "..%2Fsecrets.json", "perfdash.lock"):
        assert _get(url + f"/files/{name}", TOKEN)[0] == 404, name


def test_the_stream_catches_up_ends_and_never_sends_half_a_line(
        served: tuple[EventServer, Path, str]) -> None:
    server, _run_dir, url = served
    request = urllib.request.Request(url + "/events", headers={"Authorization": f"Bearer {TOKEN}"})
    received: list[str] = []
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        closer = threading.Thread(target=server.close, kwargs={"grace_s": 5}, daemon=True)
        for raw in resp:
            line = raw.decode().rstrip("\n")
            received.append(line)
            if line.startswith("data: ") and '"PhaseChanged"' in line and not closer.is_alive():
                closer.start()  # the run is over once the recording is complete
            if line == "event: end":
                break
    closer.join(10)
    data = [json.loads(line[6:]) for line in received if line.startswith("data: ")]
    assert [d["type"] for d in data] == ["RunStarted", "PhaseChanged"]
    assert not any('"type": "Phase' in line and "data: " not in line for line in received)
    assert received[-1] == "event: end"
    assert server.streams == 0


def test_a_hard_link_to_a_file_outside_the_run_is_not_served(
        served: tuple[EventServer, Path, str], tmp_path: Path) -> None:
    _server, run_dir, url = served
    outside = tmp_path / "outside.json"
    outside.write_text('{"secret": "from outside the run"}')
    os.link(outside, run_dir / "linked.json")
    status, body = _get(url + "/files", TOKEN)
    assert status == 200
    assert "linked.json" not in json.loads(body)
    assert _get(url + "/files/linked.json", TOKEN)[0] == 404


def test_a_symlink_swapped_in_after_the_listing_is_never_followed(
        served: tuple[EventServer, Path, str], tmp_path: Path) -> None:
    """The name flips between a result file and a symlink to a file outside the run as fast as
    renames go, while the file is fetched again and again: the outside file is never sent."""
    _server, run_dir, url = served
    outside = tmp_path / "outside.json"
    outside.write_bytes(b"OUTSIDE")
    stop = threading.Event()

    def flip() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            tmp = run_dir / f".flip{n}"
            if n % 2:
                os.symlink(outside, tmp)
            else:
                tmp.write_bytes(b"inside")
            os.replace(tmp, run_dir / "victim.json")

    (run_dir / "victim.json").write_bytes(b"inside")
    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    try:
        answers = [_get(url + "/files/victim.json", TOKEN) for _ in range(1500)]
    finally:
        stop.set()
        flipper.join()
    assert not [body for _status, body in answers if body == b"OUTSIDE"]
    assert (200, b"inside") in answers  # the file itself was served between the flips
