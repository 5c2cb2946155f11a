"""Follows the backend's log file while a run goes on, as `tail -F` would, and publishes what it reads as
batched `LogLinesRead` events. The orchestrator starts one per log the environment names (`app_log` or
`logs`, perfdash.collect.log_set); an access log's tail only counts its requests.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import deque
from pathlib import Path
from threading import Event, Thread
from time import monotonic

from perfdash.collect.access_log import EndpointCounter
from perfdash.collect.log_levels import count_levels
from perfdash.collect.name_watch import WATCH_STEP_MS, watch_name
from perfdash.collect.pool_lines import PoolLines
from perfdash.collect.terminal_text import MAX_LINE_BYTES, terminal_text
from perfdash.events import Bus, LogLinesRead, ProblemDetected, RequestTimesRead

CHUNK_BYTES = 1 << 20
FALLBACK_POLL_S = 1.0
# Polls in a row that found new bytes before the file counts as busy, and quiet polls after a busy
# spell before the reader trusts the watch again.
BUSY_POLLS = 3
SETTLE_POLLS = 2
# ERROR and WARN lines kept word for word (the first ones of the run), so a verdict can quote them.
SAMPLE_LINES = 5


class AppLogTail:
    """Follows one log file on a daemon thread; `stop()` joins it after publishing what is left.

    A watchfiles watcher on the file's directory wakes the reader; a stat every second catches the
    changes whose events never come (network and some container filesystems). Reading waits for the
    batch interval to pass, so a flood costs one read and one event per interval whatever the line rate,
    and while the file stays busy the reader simply polls once per interval and the watcher rests.

    The totals are for the whole tail; `rotations` counts every switch to a new file under the name
    (renamed away or deleted, then created again), `truncations` every restart from the top of the
    same file.
    """

    def __init__(self, bus: Bus, path: Path, *, batch_interval_s: float = 0.25, keep_lines: int = 200,
                 from_start: bool = False, endpoints: EndpointCounter | None = None,
                 pool_pattern: str | None = None, label: str | None = None, levels: bool = True) -> None:
        if batch_interval_s <= 0 or keep_lines < 0:
            raise ValueError("batch_interval_s must be > 0 and keep_lines >= 0")
        self._bus = bus
        self._path = Path(path)
        self._interval = batch_interval_s
        self._from_start = from_start
        self._stop = Event()
        self._wake = Event()
        self._calm = Event()  # cleared while the file is busy and the reader polls instead of watching
        self._calm.set()
        self._reader = Thread(target=self._run, name="applog-tail", daemon=True)
        self._watcher = Thread(target=self._watch, name="applog-watch", daemon=True)
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None
        self._at_start: tuple[tuple[int, int], int] | None = None  # (ident, size) of the file at start()
        self._offset = 0
        self._followed = False
        self._unreadable = False
        self._partial = bytearray()  # a line without its newline yet, at most MAX_LINE_BYTES of it
        self._partial_cut = 0
        # levels False: an access log, read for its requests only (no level counts, pool lines or pane)
        self._levels = levels
        # which file a line in the pane came from, when the pane follows more than one
        self._prefix = f"[{label}] " if label else ""
        self._kept: deque[str] = deque(maxlen=keep_lines if levels else 0)
        self._batch_lines = self._batch_errors = self._batch_warnings = 0
        self.lines_total = 0
        self.errors_total = 0
        self.warnings_total = 0
        self.error_lines: list[str] = []  # the first SAMPLE_LINES of each level
        self.warning_lines: list[str] = []
        self.bytes_read = 0
        self.rotations = 0
        self.truncations = 0
        self.problem: str | None = None
        # Requests per route and status class, counted from every whole line (access_log.py).
        self.endpoints = endpoints
        # the application's own words about its connection pool
        self.pool_lines = PoolLines(pattern=pool_pattern)

    @property
    def path(self) -> Path:
        return self._path

    def _count_requests(self, block: bytes) -> None:
        if self._levels:
            self.pool_lines.feed(block)
        if self.endpoints is None:
            return
        try:
            self.endpoints.feed(block)
        except Exception as exc:  # the counts are extra: a parsing bug must not stop the tail
            self.endpoints.gave_up = True
            self.endpoints.note = f"counting stopped: {type(exc).__name__}: {exc}"

    def start(self) -> None:
        """Position at the end of the file now, so lines written once this returns are all seen."""
        with contextlib.suppress(OSError):
            st = os.stat(self._path)
            self._at_start = ((st.st_dev, st.st_ino), st.st_size)
        if self._at_start:
            self._open()
        self._watcher.start()
        self._reader.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._calm.set()
        for thread in (self._reader, self._watcher):
            if thread.is_alive():
                thread.join(timeout=5)

    def _run(self) -> None:
        try:
            last_publish = float("-inf")
            found = empty = 0  # consecutive polls that did / did not find new bytes
            while not self._stop.is_set():
                if self._poll():
                    found, empty = found + 1, 0
                else:
                    found, empty = 0, empty + 1
                if found >= BUSY_POLLS:
                    self._calm.clear()
                elif empty:
                    self._calm.set()
                if self._batch_lines:
                    self._publish()
                    last_publish = monotonic()
                if self._calm.is_set():
                    # Just after a busy spell the watch needs a moment to come back: look again soon.
                    self._wake.wait(FALLBACK_POLL_S if empty > SETTLE_POLLS else self._interval)
                self._stop.wait(max(0.0, last_publish + self._interval - monotonic()))
                self._wake.clear()
            self._poll()
            self._end_line()  # the writer is not going to finish it while we watch
            if self._batch_lines:
                self._publish()
        except Exception as exc:  # a dead tail must be visible, not a silently frozen log panel
            self._bus.publish(ProblemDetected(
                f"app log tail stopped: {type(exc).__name__}: {exc}",
                "the run goes on without live log lines; the backend's log file itself is intact",
                severity="error"))
        finally:
            self._close()

    def _watch(self) -> None:
        """Wakes the reader on changes to the file's name while the file is calm (its own module)."""
        watch_name(self._path, self._wake, stop=self._stop, calm=self._calm,
                   debounce_ms=max(WATCH_STEP_MS, int(self._interval * 1000)), poll_s=FALLBACK_POLL_S)

    def _poll(self) -> bool:
        """Read whatever is new, following the name through truncation, rotation and re-creation.

        Says whether any bytes came.
        """
        before = self.bytes_read
        try:
            st: os.stat_result | None = os.stat(self._path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            self._cannot_read(exc)
            st = None
        fd = self._fd
        if fd is not None:
            if st is not None and (st.st_dev, st.st_ino) == self._ident:
                if st.st_size < self._offset:  # copytruncate, or `: > app.log`
                    self.truncations += 1
                    self._end_line()
                    self._offset = os.lseek(fd, 0, os.SEEK_SET)
                self._read(fd)
                return self.bytes_read > before
            # Renamed away or deleted: what the old file still holds comes before the new file. A file
            # renamed away stays open until a new one appears, as its writer may not have switched yet.
            self._read(fd)
            if st is None and os.fstat(fd).st_nlink > 0:
                return self.bytes_read > before
            self._end_line()
            self._close()
        if st is not None and (fd := self._open()) is not None:
            self._read(fd)
        return self.bytes_read > before

    def _open(self) -> int | None:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._cannot_read(exc)
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            self._not_a_file(st.st_mode)
            return None
        self._fd, self._ident, self._unreadable = fd, (st.st_dev, st.st_ino), False
        self._offset = 0
        if self._followed:
            self.rotations += 1
        elif self._at_start and self._at_start[0] == self._ident and not self._from_start:
            self._offset = os.lseek(fd, _line_start_before(fd, self._at_start[1]), os.SEEK_SET)
        self._followed = True
        return fd

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _read(self, fd: int) -> None:
        """Large reads: a flood between two polls costs one syscall per megabyte, not one per line."""
        while True:
            try:
                data = os.read(fd, CHUNK_BYTES)
            except OSError as exc:
                self._cannot_read(exc)
                return
            self._offset += len(data)
            self.bytes_read += len(data)
            self._feed(data)
            if len(data) < CHUNK_BYTES:
                return

    def _feed(self, data: bytes) -> None:
        first = data.find(b"\n")
        if first < 0:
            self._hold(data)
            return
        start = 0
        if self._partial or self._partial_cut:
            self._hold(data[:first])
            self._end_line()
            start = first + 1
        last = data.rfind(b"\n")
        if last >= start:
            self._add_lines(data[start:last + 1])
        if last + 1 < len(data):
            self._hold(data[last + 1:])

    def _hold(self, piece: bytes) -> None:
        """Keep the start of an unfinished line; past MAX_LINE_BYTES only count, so memory stays bounded."""
        room = max(0, MAX_LINE_BYTES - len(self._partial))
        self._partial += piece[:room]
        self._partial_cut += max(0, len(piece) - room)

    def _end_line(self) -> None:
        """The held bytes become a line of their own: a newline arrived, or no newline ever will."""
        if not self._partial and not self._partial_cut:
            return
        line, cut = bytes(self._partial), self._partial_cut
        self._partial.clear()
        self._partial_cut = 0
        errors, warnings = count_levels(line) if self._levels else (0, 0)
        self._count(1, errors, warnings)
        if errors or warnings:
            self._sample(line + b"\n", errors, warnings)
        self._count_requests(line + b"\n")
        if self._levels:
            self._kept.append(self._prefix + terminal_text(line, cut))

    def _add_lines(self, block: bytes) -> None:
        """Count every line of `block` (which ends with a newline) but decode only the newest few."""
        lines = block.count(b"\n")
        errors, warnings = count_levels(block) if self._levels else (0, 0)
        self._count(lines, errors, warnings)
        if errors or warnings:
            self._sample(block, errors, warnings)
        self._count_requests(block)
        keep = self._kept.maxlen
        if keep:
            newest = block[:-1].rsplit(b"\n", keep)
            prefix = self._prefix
            self._kept.extend(prefix + terminal_text(line)
                              for line in (newest[1:] if lines > keep else newest))

    def _sample(self, block: bytes, errors: int, warnings: int) -> None:
        """Keep the first ERROR and WARN lines of the run. Only a block that holds a line still
        wanted is split, so after the first few such blocks this costs nothing."""
        want_errors = errors and len(self.error_lines) < SAMPLE_LINES
        want_warnings = warnings and len(self.warning_lines) < SAMPLE_LINES
        if not (want_errors or want_warnings):
            return
        for line in block.splitlines():
            e, w = count_levels(line)
            kept = self.error_lines if e else self.warning_lines if w else None
            if kept is not None and len(kept) < SAMPLE_LINES:
                kept.append(terminal_text(line))
            if len(self.error_lines) >= SAMPLE_LINES and len(self.warning_lines) >= SAMPLE_LINES:
                return

    def _count(self, lines: int, errors: int, warnings: int) -> None:
        self._batch_lines += lines
        self._batch_errors += errors
        self._batch_warnings += warnings
        self.lines_total += lines
        self.errors_total += errors
        self.warnings_total += warnings

    def _publish(self) -> None:
        times, groups = self.endpoints.drain_times() if self.endpoints is not None else ({}, ())
        if times:
            self._bus.publish(RequestTimesRead(tuple(sorted(times.items())), groups))
        if not self._levels:  # an access log's lines are counted, not shown
            self._batch_lines = 0
            return
        lines = tuple(self._kept)
        self._bus.publish(LogLinesRead(lines, self._batch_errors, self._batch_warnings,
                                       dropped=self._batch_lines - len(lines)))
        self._kept.clear()
        self._batch_lines = self._batch_errors = self._batch_warnings = 0

    def _not_a_file(self, mode: int) -> None:
        if self._unreadable:
            return
        self._unreadable = True
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a directory" if stat.S_ISDIR(mode) else (
            "not a regular file")
        self.problem = f"the {self._what} {self._path} is {kind}, not a log file"
        self._bus.publish(ProblemDetected(self.problem, "point the environment's app_log (or its "
                                                        "logs entry) at the backend's log file"))

    def unmeasured(self) -> str | None:
        """Why the log's errors could not be counted, or None when it was followed."""
        if self._followed and not self._unreadable:
            return None
        return self.problem or f"the {self._what} {self._path} was never created during the run"

    @property
    def _what(self) -> str:
        return "app log" if self._levels else "access log"

    def _cannot_read(self, exc: OSError) -> None:
        """Say it once; polling goes on quietly, so fixing the permission brings the lines back."""
        if self._unreadable:
            return
        self._unreadable = True
        if isinstance(exc, PermissionError):
            fix = (f"let this user read it (ls -l {self._path}; chmod o+r, or run perfdash as the "
                   "backend's user); perfdash keeps trying")
        else:
            fix = ("check that the environment's app_log (or its logs entry) names the backend's log file; "
                   "perfdash keeps trying")
        what = f"cannot read the {self._what} {self._path}: {exc.strerror or exc}"
        self.problem = what
        self._bus.publish(ProblemDetected(what, fix))


def _line_start_before(fd: int, size: int) -> int:
    """Where the last line before `size` starts, so a line being written at start() arrives whole."""
    window = min(size, MAX_LINE_BYTES)
    newline = os.pread(fd, window, size - window).rfind(b"\n")
    return size - window + newline + 1 if newline >= 0 else size
