"""What a run writes about itself as it goes: events.ndjson (the recorded stream, for replay) and
perfdash.log, both scrubbed of the run's secrets. Used by the orchestrator.

Events arrive already redacted by the bus (`Bus.redact_with`); the recorder redacts each event again
with the same rules (a clean event costs a few substring scans) so that it stays safe on a bus
nobody installed secrets on. It redacts fields, not the JSON line, so a secret that happens to be a
JSON key cannot break the file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from perfdash.events import Event, LogLinesRead, redact_event, to_record
from perfdash.secret import Redactor, Secret

# A replayed log pane shows a screenful; app.log itself keeps every line. Recording whole batches
# of a flooding log would make events.ndjson a second, larger copy of app.log.
RECORDED_LOG_LINES = 40


class EventRecorder:
    """Appends every event to events.ndjson (secrets scrubbed), so a run can be replayed."""

    def __init__(self, path: Path, secrets: list[Secret]) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._redact = Redactor(secrets)
        self.failed = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, LogLinesRead) and len(event.lines) > RECORDED_LOG_LINES:
            cut = len(event.lines) - RECORDED_LOG_LINES
            event = replace(event, lines=event.lines[-RECORDED_LOG_LINES:],
                            dropped=event.dropped + cut)
        event = redact_event(event, self._redact)
        line = json.dumps(to_record(event), default=str)
        with self._lock:
            if self._file.closed or self.failed:
                return
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except OSError:
                self.failed = True

    def close(self) -> None:
        with self._lock:
            self._file.close()


class RunLog:
    """perfdash.log in the run directory; every line scrubbed of the run's secrets (the list is
    shared with the orchestrator, so secrets learned later, like the demo's, are scrubbed too)."""

    def __init__(self, path: Path, secrets: list[Secret], echo: Callable[[str], None] | None):
        self._path = path
        self._redact = Redactor(secrets)
        self._echo = echo
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        line = self._redact(message)
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            try:
                with self._path.open("a", encoding="utf-8") as f:
                    f.write(f"{stamp} {line}\n")
            except OSError:
                pass
        if self._echo:
            self._echo(line)
