"""The shared tail of `run --serve`: streams that caught up share one reader, a late joiner
catches up from the file without losing or repeating a line, and a subscriber that falls behind is
let go and resumes from the file where it stopped."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from pathlib import Path

from perfdash.follow.lines import LineReader
from perfdash.net import free_port
from perfdash.secret import Secret
from perfdash.serve.server import EventServer
from perfdash.serve.tail import SharedTail
from perfdash.serve.token import parse_bind

TOKEN = "t0ken-" + "y" * 30


def _append(path: Path, first: int, count: int) -> None:
    with path.open("a") as f:
        for i in range(first, first + count):
            f.write(json.dumps({"type": "Tick", "i": i}) + "\n")


def _numbers(taken: bytes | list[str]) -> list[int]:
    """The ticks in lines, or in lines sent as events."""
    if isinstance(taken, bytes):
        taken = [r[6:] for r in taken.decode().split("\n\n") if r.startswith("data: ")]
    return [json.loads(line)["i"] for line in taken]


def test_subscribers_share_batches_and_a_slow_one_resumes_from_the_file(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "events.ndjson"
        tail = SharedTail(path, max_queued=2)
        keen, slow = tail.subscribe(), tail.subscribe()
        got = b""
        for first in (0, 3, 6, 9):  # four batches; the slow one never takes any
            _append(path, first, 3)
            assert tail.poll()
            got += keen.take()
        assert not tail.poll()  # nothing new: nothing handed on
        assert _numbers(got) == list(range(12))
        assert slow.dropped  # two batches held, the third let it go
        assert tail.offset == path.stat().st_size
        held = slow.take()
        resumed = LineReader(path, slow.offset)  # where the server sends it back to the file
        assert _numbers(held) + _numbers(resumed.read()) == list(range(12))
        _append(path, 12, 1)
        assert tail.poll()
        assert _numbers(keen.take()) == [12]
        assert slow.take() == b""  # let go: the tail hands it nothing more
        resumed.close()
        tail.close()

    asyncio.run(scenario())


def _stream(url: str, out: list[int], done: threading.Event) -> None:
    request = urllib.request.Request(url + "/events", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=20) as resp:
        for raw in resp:
            line = raw.decode().rstrip("\n")
            if line.startswith("data: "):
                out.append(json.loads(line[6:])["i"])
            elif line == "event: end":
                break
    done.set()


def test_streams_joining_at_different_times_each_get_every_line_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    path = run_dir / "events.ndjson"
    _append(path, 0, 200)
    bind = parse_bind(f"127.0.0.1:{free_port()}")
    server = EventServer(bind, Secret(TOKEN), run_dir)
    server.start()
    received: list[list[int]] = []
    ends: list[threading.Event] = []
    written = 200
    try:
        for _ in range(5):  # a client joins, the run appends, the next client joins later
            out: list[int] = []
            done = threading.Event()
            received.append(out)
            ends.append(done)
            threading.Thread(target=_stream, args=(bind.url, out, done), daemon=True).start()
            time.sleep(0.3)
            _append(path, written, 50)
            written += 50
        time.sleep(0.6)
        with path.open("a") as f:
            f.write('{"type": "Ti')  # a half-written last line is never sent
    finally:
        server.close(grace_s=10)
    assert all(done.wait(10) for done in ends)
    for out in received:
        assert out == list(range(written))
    assert server.streams == 0
