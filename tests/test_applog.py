"""The app-log tail against real files and real threads: what a user would see in the log panel while
the backend writes, rotates, truncates or mangles its log."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from perfdash.collect import applog
from perfdash.collect.access_log import EndpointCounter
from perfdash.collect.applog import AppLogTail
from perfdash.collect.log_levels import count_levels
from perfdash.collect.terminal_text import MAX_LINE_BYTES
from perfdash.events import Bus, LogLinesRead, ProblemDetected, Subscription

WAIT_S = 5.0


class Tailing:
    """A started tail and its subscription, with everything received so far."""

    def __init__(self, tail: AppLogTail, sub: Subscription) -> None:
        self.tail = tail
        self.sub = sub
        self.batches: list[LogLinesRead] = []
        self.problems: list[ProblemDetected] = []

    def receive(self, timeout: float = 0.1) -> None:
        for event in self.sub.drain(timeout):
            if isinstance(event, LogLinesRead):
                self.batches.append(event)
            elif isinstance(event, ProblemDetected):
                self.problems.append(event)

    @property
    def lines(self) -> list[str]:
        return [line for batch in self.batches for line in batch.lines]

    def wait_for(self, done: Callable[[], bool], what: str) -> None:
        """Polls until `done`; generous, so a busy CI machine is slow rather than failing."""
        deadline = time.monotonic() + WAIT_S
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}; got {self.lines[-5:]}"
            self.receive()

    def wait_lines(self, expected: list[str]) -> None:
        self.wait_for(lambda: len(self.lines) >= len(expected), f"{len(expected)} lines")
        assert self.lines == expected

    def quiet_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.receive()


@pytest.fixture
def tailing(tmp_path: Path) -> Iterator[Callable[..., Tailing]]:
    started: list[AppLogTail] = []

    def start(path: Path | None = None, **options: object) -> Tailing:
        bus = Bus()
        sub = bus.subscribe()
        options.setdefault("batch_interval_s", 0.05)
        tail = AppLogTail(bus, path or tmp_path / "app.log", **options)  # type: ignore[arg-type]
        tail.start()
        started.append(tail)
        return Tailing(tail, sub)

    yield start
    for tail in started:
        tail.stop()


def append(path: Path, data: str | bytes) -> None:
    with path.open("ab") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def test_starts_at_the_end_and_delivers_appended_lines_in_order(
        tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("old 1\nold 2\n")
    t = tailing()
    for i in range(5):
        append(log, f"new {i}\n")
    t.wait_lines([f"new {i}" for i in range(5)])
    t.quiet_for(0.3)
    assert t.lines == [f"new {i}" for i in range(5)]


def test_from_start_reads_the_whole_file(tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("old 1\nold 2\n")
    t = tailing(from_start=True)
    append(log, "new\n")
    t.wait_lines(["old 1", "old 2", "new"])


def test_a_line_being_written_at_start_arrives_whole(tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("old\nhalf a ")
    t = tailing()
    append(log, "line\n")
    t.wait_lines(["half a line"])


def test_nothing_is_published_when_nothing_arrives(tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    (tmp_path / "app.log").write_text("old\n")
    t = tailing()
    t.quiet_for(0.5)
    assert t.batches == []


def test_a_partial_line_is_held_until_its_newline(tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing()
    append(log, "first\nsec")
    t.wait_lines(["first"])
    t.quiet_for(0.4)
    assert t.lines == ["first"]
    append(log, "ond\nthird\n")
    t.wait_lines(["first", "second", "third"])


def test_stop_flushes_the_last_partial_line(tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing(batch_interval_s=10.0)
    append(log, "complete\nno newline yet")
    time.sleep(0.3)
    t.tail.stop()
    t.receive()
    assert t.lines == ["complete", "no newline yet"]


def test_rotation_mid_tail_loses_no_line(tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing()
    append(log, "a1\na2\n")
    t.wait_lines(["a1", "a2"])
    # Written just before the rename, so the old file still holds lines the tail has not read.
    append(log, "a3\na4\n")
    log.rename(tmp_path / "app.log.1")
    append(log, "b1\nb2\n")
    t.wait_lines(["a1", "a2", "a3", "a4", "b1", "b2"])
    append(log, "b3\n")
    t.wait_lines(["a1", "a2", "a3", "a4", "b1", "b2", "b3"])
    assert t.tail.rotations == 1


def test_truncation_mid_tail_starts_again_from_the_top(
        tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing()
    append(log, "a long line before the truncation\nanother long line\n")
    t.wait_lines(["a long line before the truncation", "another long line"])
    with log.open("w") as f:  # what logrotate's copytruncate does
        f.write("x1\n")
    t.wait_lines(["a long line before the truncation", "another long line", "x1"])
    append(log, "x2\n")
    t.wait_lines(["a long line before the truncation", "another long line", "x1", "x2"])
    assert t.tail.truncations == 1


def test_delete_and_recreate(tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing()
    append(log, "before\n")
    t.wait_lines(["before"])
    log.unlink()
    t.quiet_for(0.3)
    append(log, "after 1\nafter 2\n")
    t.wait_lines(["before", "after 1", "after 2"])
    assert t.tail.rotations == 1


def test_file_appearing_after_start_is_read_from_its_top(
        tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "logs" / "app.log"  # not even the directory exists yet
    t = tailing(log)
    t.quiet_for(0.3)
    log.parent.mkdir()
    append(log, "backend up\n")
    t.wait_lines(["backend up"])
    append(log, "GET /\n")
    t.wait_lines(["backend up", "GET /"])


def test_invalid_utf8_and_binary_garbage_do_not_stop_the_tail(
        tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing()
    append(log, b"caf\xe9 \xff\xfe ok\n")
    append(log, b"nul\x00bell\x07 \x1b[31mred\x1b[0m\r\n")
    append(log, bytes(range(256)) * 40 + os.urandom(20_000) + b"\nafter garbage\n")
    t.wait_for(lambda: "after garbage" in t.lines, "the line after the garbage")
    assert t.lines[0] == "caf\ufffd \ufffd\ufffd ok"
    assert t.lines[1] == "nul\ufffdbell\ufffd red"
    assert all(len(line.encode()) < MAX_LINE_BYTES * 4 for line in t.lines)
    assert not any(ch in line for line in t.lines for ch in "\x00\x1b\r")
    assert t.problems == []


def test_very_long_lines_are_cut_with_a_marker(tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing()
    append(log, "x" * 10_000 + "\n")
    append(log, "y" * 3000)  # a long line arriving in pieces is held, but only its first bytes
    for _ in range(50):
        append(log, "y" * 3000)
    append(log, "\nshort\n")
    t.wait_lines([f"{'x' * MAX_LINE_BYTES} … [{10_000 - MAX_LINE_BYTES} bytes cut]",
                  f"{'y' * MAX_LINE_BYTES} … [{51 * 3000 - MAX_LINE_BYTES} bytes cut]",
                  "short"])


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-25T14:53:26.673Z INFO  GET /api/products 200 3.2ms\n", (0, 0)),
    ("2026-11-25T14:53:26.673Z ERROR GET /api/orders 500 9.1ms\n", (1, 0)),
    ("2026-11-25T14:53:26.673Z WARN  GET /api/slow 200 2100.0ms\n", (0, 1)),
    ("2026-11-25 14:53:26,673 WARNING pool nearly full\n", (0, 1)),
    ("2026-11-25 14:53:26 CRITICAL out of memory\n", (1, 0)),
    ('{"time":"14:53:26","level":"error","msg":"boom"}\n', (1, 0)),
    ("ts=14:53:26 level=warn msg=slow\n", (0, 1)),
    ("\x1b[31mERROR\x1b[0m colourised\n", (1, 0)),
    ("error warn Error Warning: lower case words are message text\n", (0, 0)),
    ("INFO GET /api/ERRORS 200\n", (0, 0)),
    ("2026-11-25T14:53:26.673Z INFO  a message that mentions ERROR and WARN late\n", (0, 0)),
    ("ERROR and WARN on one line count once, as the worse\n", (1, 0)),
    ("WARN\nERROR\nWARNING\nWARNINGS\n", (1, 2)),
])
def test_levels_are_read_from_the_start_of_each_line(text: str, expected: tuple[int, int]) -> None:
    assert count_levels(text.encode()) == expected


def test_error_and_warning_counts_per_batch_and_in_total(
        tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing()
    append(log, "".join(f"2026-11-25T14:53:26.673Z {level} GET /x 200 1ms\n"
                        for level in ["INFO ", "ERROR", "WARN ", "ERROR", "INFO "]))
    t.wait_for(lambda: sum(len(b.lines) for b in t.batches) == 5, "five lines")
    assert sum(b.errors for b in t.batches) == 2
    assert sum(b.warnings for b in t.batches) == 1
    assert (t.tail.lines_total, t.tail.errors_total, t.tail.warnings_total) == (5, 2, 1)


def test_a_flood_is_counted_exactly_but_only_the_newest_lines_are_passed_on(
        tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing(batch_interval_s=0.1, keep_lines=100)
    levels = ["INFO ", "INFO ", "INFO ", "WARN ", "INFO ", "ERROR", "INFO ", "INFO ", "INFO ", "INFO "]
    total = 50_000
    with log.open("a") as f:
        for start in range(0, total, 500):
            f.write("".join(f"2026-11-25T14:53:26.673Z {levels[i % 10]} GET /api/products/{i} 200 1ms\n"
                            for i in range(start, start + 500)))
            f.flush()
    t.wait_for(lambda: sum(len(b.lines) + b.dropped for b in t.batches) >= total, "the whole flood")
    assert (t.tail.lines_total, t.tail.errors_total, t.tail.warnings_total) == (total, 5_000, 5_000)
    assert sum(b.errors for b in t.batches) == 5_000
    assert sum(b.warnings for b in t.batches) == 5_000
    assert sum(len(b.lines) + b.dropped for b in t.batches) == total
    assert all(len(b.lines) <= 100 for b in t.batches)
    assert t.lines[-1].endswith(f"/api/products/{total - 1} 200 1ms")
    numbers = [int(line.split("/")[3].split()[0]) for line in t.lines]
    assert numbers == sorted(numbers)


def test_a_steady_stream_then_silence_then_one_more_line(
        tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    """A busy file is polled instead of watched; the watch must come back once it goes quiet."""
    log = tmp_path / "app.log"
    log.write_text("")
    t = tailing()
    expected = [f"steady {i}" for i in range(40)]
    for line in expected:
        append(log, line + "\n")
        time.sleep(0.03)
    t.wait_lines(expected)
    t.quiet_for(1.0)
    append(log, "one more\n")
    t.wait_lines([*expected, "one more"])


def test_an_unreadable_file_is_reported_once_and_retried_quietly(
        tmp_path: Path, tailing: Callable[..., Tailing], monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    real_open = os.open
    denied = True

    # Tests may run as root, who can read anything, so refusing the open is how the permission is taken.
    def guarded_open(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if denied and os.fspath(path) == os.fspath(log):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(applog, "FALLBACK_POLL_S", 0.2)  # the retries, at a test's pace
    t = tailing()
    t.quiet_for(0.7)  # more than two fallback polls
    assert len(t.problems) == 1
    assert "Permission denied" in t.problems[0].what
    assert "chmod" in t.problems[0].fix
    append(log, "readable again\n")
    denied = False
    t.wait_lines(["readable again"])
    assert len(t.problems) == 1


def test_stop_returns_promptly_and_ends_the_threads(tmp_path: Path) -> None:
    bus = Bus()
    tail = AppLogTail(bus, tmp_path / "app.log")
    tail.start()
    began = time.monotonic()
    tail.stop()
    assert time.monotonic() - began < 3
    assert [t.name for t in threading.enumerate() if t.name.startswith("applog")] == []


def test_a_gunicorn_access_log_tailed_live_keeps_its_milliseconds(
        tmp_path: Path, tailing: Callable[..., Tailing]) -> None:
    """The recorded gunicorn log (`%(M)s`, integer ms) written a few lines at a time while tailed:
    the unit is inferred from the first lines and the times stay milliseconds, not seconds."""
    recorded = (Path(__file__).parent / "data/endpoints/gunicorn-run/access.log").read_bytes()
    lines = [b" ".join(line.rsplit(b" ", 3)[::3])  # keep %(M)s, the last of the three times
             for line in recorded.splitlines(keepends=True)]
    log = tmp_path / "access.log"
    log.write_text("")
    counter = EndpointCounter()
    t = tailing(log, endpoints=counter)
    for i in range(0, len(lines), 40):
        append(log, b"".join(lines[i:i + 40]))
        time.sleep(0.02)
    t.wait_for(lambda: counter.request_lines == len(lines), f"{len(lines)} request lines")
    t.tail.stop()
    out = tmp_path / "applog-endpoints.json"
    counter.write(out)
    got = json.loads(out.read_text())
    assert got["format"] == "combined"
    assert got["time_unit"] == "ms"
    assert got["time_unit_source"].startswith("inferred: integer request times")
    transfers = got["routes"]["/api/transfers"]
    assert transfers["count"] == transfers["latency_n"] == 200
    assert 30 <= transfers["latency_avg_ms"] < 32
