"""A recorded run played back: `events.ndjson` turned back into events and published on a bus.

`perfdash show DIR --replay` feeds the dashboard this way, the UI tests use it to drive the live
screen from a real run, and the dashboard benchmark loops it. Nothing here imports Textual.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from perfdash.artifacts import events_file, load_event_records
from perfdash.events import Bus, Event
from perfdash.follow.records import EVENT_TYPES, event_from_record

__all__ = ["EVENT_TYPES", "Replayer", "event_from_record", "events_path", "events_until",
           "load_events"]


def load_events(path: Path) -> list[Event]:
    """Every event of a recorded run (a run directory or its events file), in order; a line cut
    short by a kill or an unknown type is skipped. Raises perfdash.artifacts.EventsError."""
    return [event for record in load_event_records(path)
            if (event := event_from_record(record)) is not None]


def events_path(location: Path) -> Path:
    """A run directory or an events.ndjson file, as the events file."""
    return events_file(location)


def events_until(events: Sequence[Event], seconds: float) -> list[Event]:
    """The events recorded within `seconds` of the first one: a run stopped at a chosen moment."""
    if not events:
        return []
    start = events[0].at
    return [e for e in events if e.at - start <= seconds]


class Replayer:
    """Publishes recorded events with their original spacing, divided by `speed`.

    `clock` and `sleep` are injectable so a test can replay a minute in no time; the default sleep
    waits on the stop flag, so `stop()` from another thread ends a replay at once.
    """

    def __init__(self, events: Iterable[Event], bus: Bus, *, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.events = list(events)
        self.bus = bus
        self.speed = speed
        self._clock = clock
        self._stopped = threading.Event()
        self._sleep = sleep or self._wait
        self.published = 0

    def _wait(self, seconds: float) -> None:
        self._stopped.wait(seconds)

    def stop(self) -> None:
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def run(self) -> int:
        """Publish every event at its time; returns how many were published before a stop."""
        if not self.events:
            return 0
        first = self.events[0].at
        start = self._clock()
        for event in self.events:
            due = start + (event.at - first) / self.speed
            while not self._stopped.is_set() and (wait := due - self._clock()) > 0:
                self._sleep(wait)
            if self._stopped.is_set():
                break
            self.bus.publish(event)
            self.published += 1
        return self.published
